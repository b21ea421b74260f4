"""What participants see: upcoming workshops, a workshop's page, health."""

from datetime import UTC, datetime, timedelta

from workshops.models import Registration, RegistrationStatus, WorkshopFormat, WorkshopStatus


def test_list_shows_upcoming_published_workshops_and_filters_them(client, make_workshop):
    make_workshop(title_en="Hybrid in Chongqing")
    make_workshop(title_en="Online training", format=WorkshopFormat.ONLINE, city="")
    make_workshop(title_en="Draft one", status=WorkshopStatus.DRAFT)
    past = datetime.now(UTC) - timedelta(days=30)
    make_workshop(
        title_en="Long past", starts_at=past, ends_at=past + timedelta(hours=8), with_sessions=False
    )

    page = client.get("/").get_data(as_text=True)
    assert "Hybrid in Chongqing" in page and "Online training" in page
    assert "Draft one" not in page and "Long past" not in page

    online = client.get("/?format=online").get_data(as_text=True)
    assert "Online training" in online and "Hybrid in Chongqing" not in online
    chongqing = client.get("/?city=Chongqing").get_data(as_text=True)
    assert "Hybrid in Chongqing" in chongqing and "Online training" not in chongqing


def test_workshop_page_shows_agenda_and_seats_left_per_mode(client, make_workshop, db):
    workshop = make_workshop(onsite_capacity=2, online_capacity=5)
    for index in range(2):
        db.session.add(
            Registration(
                workshop=workshop,
                full_name=f"P{index}",
                email=f"p{index}@example.org",
                mode="onsite",
                status=RegistrationStatus.CONFIRMED,
            )
        )
    db.session.commit()
    page = client.get(f"/workshops/{workshop.id}").get_data(as_text=True)
    assert "Onsite: full — waiting list" in page
    assert "Online: 5" in page
    assert "Day 1" in page and "Day 2" in page


def test_unknown_or_draft_workshop_is_a_friendly_404(client, make_workshop):
    draft = make_workshop(status=WorkshopStatus.DRAFT)
    for url in ("/workshops/424242", f"/workshops/{draft.id}", f"/workshops/{draft.id}/calendar.ics"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)


def test_user_text_is_escaped(client, make_workshop):
    workshop = make_workshop(
        title_en="<script>alert(1)</script>", description_en="<img src=x onerror=alert(1)>"
    )
    page = client.get(f"/workshops/{workshop.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_every_asset_is_served_by_the_app(client, make_workshop):
    make_workshop()
    page = client.get("/").get_data(as_text=True)
    assert "https://" not in page.replace("https://meeting", "")
    with client.get("/static/css/app.css") as css:
        assert css.status_code == 200


def test_healthz_reports_the_database_redis_and_the_worker(app, client):
    import os
    from datetime import timedelta

    from workshops.models import Heartbeat
    from workshops.models.base import utcnow
    from workshops.services import health

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not used", "worker": "unknown"}
    health.heartbeat_task.delay()  # what beat runs every 30 s
    assert client.get("/healthz").json["worker"] == "ok"
    from workshops.extensions import db

    db.session.get(Heartbeat, "worker").at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert client.get("/healthz").json["status"] == "degraded"
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    assert health.check()["redis"] == "unavailable"
    if os.environ.get("TEST_REDIS_URL"):
        app.config["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        assert health.check()["redis"] == "ok"
