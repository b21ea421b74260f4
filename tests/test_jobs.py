"""Jobs whose worker died are handed out again and resume without repeating anyone."""

from datetime import timedelta

from tests.helpers import applicant
from workshops.models import Job, JobKind, OutboxMessage, Registration, Workshop
from workshops.models.base import utcnow
from workshops.services import announcements, jobs
from workshops.services import registration as registrations


def test_every_job_kind_and_every_beat_entry_has_its_task(app):
    """Tasks are declared in the services that own them: once the app is built, each kind of
    job can be handed out and each of beat's entries names a task a worker knows."""
    celery_app = app.extensions["celery"]
    assert jobs.declared_kinds() == set(JobKind)
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert scheduled - set(celery_app.tasks) == set()
    assert {"outbox.deliver", "jobs.resume_stalled", "worker.heartbeat"} <= scheduled


def _announcement_job(app, workshop, db, people=5):
    for n in range(people):
        registrations.register(workshop.id, applicant(n))
    db.session.query(OutboxMessage).delete()
    db.session.commit()
    # As if the broker had lost the task: the job is recorded but nobody runs it.
    job = Job(
        kind="announcement",
        status="queued",
        workshop_id=workshop.id,
        total=people,
        payload={
            "announcement": {
                "audience": "confirmed",
                "subject_en": "Room change",
                "body_en": "Room 2",
                "subject_zh": "",
                "body_zh": "",
                "mode": "",
            },
            "recipients": announcements.recipients(workshop, "confirmed"),
        },
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_a_stalled_job_is_handed_out_again_and_finishes_once(app, make_workshop, db):
    workshop = make_workshop()
    job = _announcement_job(app, workshop, db)
    # Still within its lease: left alone.
    assert jobs.resume_stalled() == []
    assert db.session.get(Job, job.id).status == "queued"

    later = utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
    assert jobs.resume_stalled(now=later) == [job.id]
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "done"
    assert db.session.query(OutboxMessage).filter_by(kind="announcement").count() == 5

    # Handing it out again (a late duplicate of the task) writes nobody twice.
    announcements.write_announcement(job.id)
    assert jobs.resume_stalled(now=later + timedelta(hours=1)) == []
    assert db.session.query(OutboxMessage).filter_by(kind="announcement").count() == 5


def test_a_job_resumes_from_its_recorded_progress(app, make_workshop, db):
    workshop = make_workshop()
    job = _announcement_job(app, workshop, db, people=4)
    # A worker died after the first two people's emails were written.
    people = job.payload["recipients"]
    for registration_id in people[:2]:
        registration = db.session.get(Registration, registration_id)
        db.session.add(
            OutboxMessage(
                kind="announcement",
                recipient=registration.email,
                registration=registration,
                subject="Room change",
                body_text="Room 2",
            )
        )
    job.done, job.status = 2, "running"
    job.heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert jobs.resume_stalled() == [job.id]
    recipients = [m.recipient for m in db.session.query(OutboxMessage).filter_by(kind="announcement")]
    assert len(recipients) == len(set(recipients)) == 4


def test_a_job_is_queued_even_when_the_broker_is_down(make_app, make_workshop, db, caplog):
    workshop = make_workshop()
    for n in range(2):
        registrations.register(workshop.id, applicant(n))
    nothing_listens = "redis://127.0.0.1:1/0"
    other = make_app(
        CELERY={
            "broker_url": nothing_listens,
            "result_backend": nothing_listens,
            "task_always_eager": False,
            "broker_connection_timeout": 1,
            "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0},
        }
    )
    with other.app_context():
        job = announcements.queue_announcement(
            db.session.get(Workshop, workshop.id),
            announcements.Announcement(audience="confirmed", subject_en="Hello", body_en="Hi"),
            actor=None,
        )
        job_id = job.id
        # Kept for the sweep, and the coordinator got an answer.
        assert db.session.get(Job, job_id).status == "queued"
    assert f"could not queue job {job_id}" in caplog.text


def test_a_second_copy_of_an_import_task_finds_the_job_taken(app, make_workshop, db):
    from workshops.services import jobs, nominations

    workshop = make_workshop()
    csv = "Name,Email,Mode\n李华,li@example.org,onsite\n王芳,wang@example.org,online\n".encode()
    job = nominations.preview_import(workshop, "list.csv", csv, actor=None)
    assert job.total == 2
    job.status = "queued"
    db.session.commit()
    runner = jobs.claim(job.id)
    assert runner is not None
    nominations.run_import(job.id)  # a second copy while the first holds the job: it stops at once
    assert db.session.query(Registration).count() == 0
    assert jobs.still_mine(job.id, runner)

    # The first run dies; after the lease the sweep frees the job and a new run does it all, once.
    later = utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
    assert jobs.resume_stalled(now=later) == [job.id]
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "done"
    assert db.session.query(Registration).count() == 2
    assert not jobs.still_mine(job.id, runner)  # the dead run, were it to wake, would stop
    confirmations = db.session.query(OutboxMessage).filter_by(kind="confirmation").count()
    assert confirmations == 2
