"""The JSON API and its generated OpenAPI document."""

from datetime import datetime

from openapi_spec_validator import validate

from workshops.models import WorkshopStatus


def test_openapi_document_is_valid_and_lists_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert {
        "/api/v1/workshops/",
        "/api/v1/workshops/{workshop_id}",
        "/api/v1/workshops/{workshop_id}/registrations",
        "/api/v1/registrations/{registration_id}",
        "/api/v1/checkin",
        "/api/v1/checkin/sync",
        "/api/v1/workshops/{workshop_id}/roster",
        "/api/v1/workshops/{workshop_id}/search",
        "/api/v1/sessions/{session_id}/counters",
        "/api/v1/attendances/{attendance_id}",
    } <= set(spec["paths"])
    # How to authenticate is documented, and the scanner's endpoints say which they need.
    assert set(spec["components"]["securitySchemes"]) == {"signedIn", "csrf"}
    assert spec["paths"]["/api/v1/checkin"]["post"]["security"] == [{"signedIn": [], "csrf": []}]
    assert spec["paths"]["/api/v1/workshops/{workshop_id}/roster"]["get"]["security"] == [{"signedIn": []}]


def test_workshops_list_and_detail(client, make_workshop):
    workshop = make_workshop(meeting_url="https://meeting.example.org/secret")
    make_workshop(status=WorkshopStatus.DRAFT, title_en="Hidden draft")
    listing = client.get("/api/v1/workshops/").json
    assert [w["title_en"] for w in listing] == [workshop.title_en]
    assert listing[0]["seats_left"] == {"onsite": 40, "online": 200}
    detail = client.get(f"/api/v1/workshops/{workshop.id}").json
    assert detail["title_zh"] == "高质量学徒制能力建设研讨会"
    assert [s["title_en"] for s in detail["sessions"]] == ["Day 1", "Day 2"]
    assert datetime.fromisoformat(detail["starts_at"]) == workshop.starts_at  # an aware instant
    assert "meeting_url" not in detail


def test_unknown_workshop_is_a_json_404(client):
    response = client.get("/api/v1/workshops/9999")
    assert response.status_code == 404
    assert response.json["code"] == 404
    chinese = client.get("/api/v1/workshops/9999", headers={"Accept-Language": "zh-CN"}).json
    assert chinese["message"] == "没有此编号的已发布研讨会。"


def test_filters_are_validated(client, make_workshop):
    make_workshop()
    assert client.get("/api/v1/workshops/?format=online").json == []
    assert len(client.get("/api/v1/workshops/?format=hybrid").json) == 1


def test_public_registration_follows_the_form_rules(client, make_workshop, db):
    from workshops.models import Registration

    workshop = make_workshop(onsite_capacity=1)
    body = {
        "full_name": "李华",
        "email": "li@example.org",
        "mode": "onsite",
        "consent": True,
        "language": "zh",
    }
    response = client.post(f"/api/v1/workshops/{workshop.id}/registrations", json=body)
    assert response.status_code == 201 and response.json["outcome"] == "confirmed"
    token = db.session.scalars(db.select(Registration)).one().manage_token
    assert response.json["ticket_url"] == f"http://workshops.test/r/{token}"
    second = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations", json={**body, "email": "x@example.org"}
    )
    assert second.json["outcome"] == "waitlisted"
    again = client.post(f"/api/v1/workshops/{workshop.id}/registrations", json=body)
    # Anyone may post an address: "already registered" says nothing about its registration.
    assert again.status_code == 202 and again.json == {
        "outcome": "unverified",
        "status": "unverified",
        "ticket_url": None,
    }


def test_public_registration_errors_are_field_by_field_and_translated(client, make_workshop, db):
    from workshops.models import Registration

    workshop = make_workshop()
    response = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations",
        json={"full_name": "", "email": "nope", "mode": "onsite", "consent": False},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422
    assert response.json["errors"]["full_name"] == ["请输入您的姓名。"]
    assert set(response.json["errors"]) == {"full_name", "email", "consent"}
    missing = client.post(f"/api/v1/workshops/{workshop.id}/registrations", json={"full_name": "A"})
    assert missing.status_code == 422 and "mode" in missing.json["errors"]["json"]
    # An email is no longer required by itself, but a way to reach the person is.
    nowhere = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations",
        json={"full_name": "A", "mode": "onsite", "consent": True},
        headers={"Accept-Language": "zh-CN"},
    )
    assert nowhere.status_code == 422 and nowhere.json["errors"]["email"] == [
        "请填写邮箱或手机号码：我们会把入场凭证发送到那里。"
    ]
    assert client.post("/api/v1/workshops/999/registrations", json={}).status_code in (404, 422)
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 0


def test_staff_registration_endpoints_check_who_asks(client, auth, make_user, make_workshop):
    from tests.helpers import applicant
    from workshops.models import Role
    from workshops.services import registration as registrations

    workshop = make_workshop()
    other = make_workshop(title_en="Other")
    registration = registrations.register(workshop.id, applicant(1)).registration
    assert client.get(f"/api/v1/workshops/{workshop.id}/registrations").status_code == 401
    assert client.get(f"/api/v1/registrations/{registration.id}").status_code == 401
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(other)
    auth.login(organiser)
    assert client.get(f"/api/v1/workshops/{workshop.id}/registrations").status_code == 403
    assert client.get(f"/api/v1/registrations/{registration.id}").status_code == 403
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    rows = client.get(f"/api/v1/workshops/{workshop.id}/registrations?q=person1").json
    assert [r["email"] for r in rows] == ["person1@example.org"]
    detail = client.get(f"/api/v1/registrations/{registration.id}").json
    assert detail["full_name"] == "参加者1" and "manage_token" not in detail and "ticket_token" not in detail
