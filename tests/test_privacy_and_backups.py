"""Personal data: anonymising old workshops, a participant's export and deletion; backups."""

import json
import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import applicant
from tests.test_surveys import answers
from workshops.models import AuditEvent, Programme, Registration, RegistrationSource, Workshop
from workshops.services import checkin, reports, surveys
from workshops.services import registration as registrations


def test_anonymising_old_workshops_keeps_the_programme_figures(runner, make_workshop, db):
    programme = Programme(code="QA", name_en="QA")
    db.session.add(programme)
    db.session.commit()
    now = datetime.now(UTC)
    old = make_workshop(
        programme=programme, starts_at=now - timedelta(days=400), ends_at=now - timedelta(days=399)
    )
    recent = make_workshop(
        programme=programme, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2)
    )
    people = []
    for workshop in (old, recent):  # the same person at both
        registration = registrations.register(
            workshop.id, applicant(1, full_name="李华", gender="woman"), source=RegistrationSource.WALK_IN
        ).registration
        checkin.redeem(workshop.sessions[0], registration=registration, override=True)
        people.append(registration)
    survey = surveys.survey_for(old)
    surveys.apply_template(survey, None)
    surveys.submit(survey, people[0], answers(survey, suggestions="Call me on 13800000000"))
    before = reports.programme_report(programme)

    result = runner.invoke(
        args=[
            "privacy",
            "anonymise",
            "--ended-before",
            (now - timedelta(days=30)).strftime("%Y-%m-%d"),
            "--yes",
        ]
    )
    assert "1 registrations anonymised" in result.output
    db.session.expire_all()
    gone = db.session.get(Registration, people[0].id)
    assert gone.full_name == "—" and gone.email.endswith("@invalid") and gone.mobile == ""
    assert db.session.get(Registration, people[1].id).full_name == "李华"  # recent: untouched
    after = reports.programme_report(programme)
    for key in ("unique_participants", "attendances", "breakdown", "workshops_held"):
        assert after[key] == before[key], key
    raw = json.dumps(reports.programme_report(programme), default=str)
    assert "13800000000" not in str(db.session.execute(sa.text("SELECT text FROM answer")).all())
    assert "李华" not in raw


def test_beat_purges_workshops_past_the_retention_period(app, make_workshop, db):
    from workshops.services import privacy

    now = datetime.now(UTC)
    old = make_workshop(starts_at=now - timedelta(days=800), ends_at=now - timedelta(days=799))
    recent = make_workshop(starts_at=now - timedelta(days=100), ends_at=now - timedelta(days=99))
    people = [
        registrations.register(w.id, applicant(1), source=RegistrationSource.WALK_IN).registration
        for w in (old, recent)
    ]
    app.config["DATA_RETENTION_DAYS"] = 0
    assert privacy.purge_expired() == 0  # turned off
    app.config["DATA_RETENTION_DAYS"] = 730
    assert privacy.purge_expired() == 1
    db.session.expire_all()
    assert db.session.get(Registration, people[0].id).email.endswith("@invalid")
    assert db.session.get(Registration, people[1].id).email == "person1@example.org"
    assert db.session.scalars(db.select(AuditEvent).filter_by(action="privacy.anonymise")).one()


def test_participant_downloads_and_deletes_their_data(client, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1)
    me = registrations.register(workshop.id, applicant(1, full_name="王芳")).registration
    waiting = registrations.register(workshop.id, applicant(2)).registration
    old_link = f"/r/{me.manage_token}"
    data = client.get(f"{old_link}/my-data.json").json
    assert (
        data["registration"]["full_name"] == "王芳" and data["registration"]["email"] == "person1@example.org"
    )
    response = client.post(f"/r/{me.manage_token}/delete")
    assert "Your data is deleted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, me.id).full_name == "—"
    assert db.session.get(Registration, waiting.id).status.value == "confirmed"  # the seat was passed on
    assert client.get(old_link).status_code == 404  # the old link no longer opens anything
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("privacy.%"))
    ).all()
    assert actions == ["privacy.export", "privacy.delete"]


def test_backup_and_restore_bring_the_data_back(runner, make_workshop, db, tmp_path, database_url):
    if database_url.startswith("postgresql") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    workshop = make_workshop(title_en="Before the backup")
    backup = tmp_path / "backup.bin"
    result = runner.invoke(args=["backup", "create", "--output", str(backup)])
    assert result.exit_code == 0 and backup.stat().st_size > 0, result.output
    db.session.delete(db.session.get(Workshop, workshop.id))
    db.session.commit()
    result = runner.invoke(args=["backup", "restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Workshop.title_en)) == "Before the backup"
    assert os.path.exists(backup)
