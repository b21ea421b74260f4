"""The JSON API and its generated OpenAPI document."""
from openapi_spec_validator import validate

from workshops.models import WorkshopStatus


def test_openapi_document_is_valid_and_lists_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert {"/api/v1/workshops/", "/api/v1/workshops/{workshop_id}"} <= set(spec["paths"])


def test_workshops_list_and_detail(client, make_workshop):
    workshop = make_workshop(meeting_url="https://meeting.example.org/secret")
    make_workshop(status=WorkshopStatus.DRAFT, title_en="Hidden draft")
    listing = client.get("/api/v1/workshops/").json
    assert [w["title_en"] for w in listing] == [workshop.title_en]
    assert listing[0]["seats_left"] == {"onsite": 40, "online": 200}
    detail = client.get(f"/api/v1/workshops/{workshop.id}").json
    assert detail["title_zh"] == "高质量学徒制能力建设研讨会"
    assert [s["title_en"] for s in detail["sessions"]] == ["Day 1", "Day 2"]
    assert detail["starts_at"].endswith("+00:00")
    assert "meeting_url" not in detail


def test_unknown_workshop_is_a_json_404(client):
    response = client.get("/api/v1/workshops/9999")
    assert response.status_code == 404
    assert response.json["code"] == 404


def test_filters_are_validated(client, make_workshop):
    make_workshop()
    assert client.get("/api/v1/workshops/?format=online").json == []
    assert len(client.get("/api/v1/workshops/?format=hybrid").json) == 1
