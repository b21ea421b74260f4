"""Feedback summary of 10,000 responses x 12 questions on PostgreSQL; XLSX and PDF downloads."""

import random
import time
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import insert_people, insert_workshop

RESPONSES = 10_000


def test_survey_summary_exports(bench_database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", bench_database_url)
    monkeypatch.setenv("SECRET_KEY", "bench")
    from workshops import create_app
    from workshops.extensions import db
    from workshops.models import Survey
    from workshops.services import feedback, surveys

    workshop_id, _session = insert_workshop(bench_database_url, starts_in=timedelta(days=-3))
    insert_people(bench_database_url, workshop_id, RESPONSES)
    app = create_app()
    with app.app_context():
        from workshops.models import Workshop

        survey = surveys.survey_for(db.session.get(Workshop, workshop_id))
        surveys.apply_template(survey, None)
        surveys.add_question(
            survey,
            surveys.QuestionDetails(
                kind="multiple",
                text_en="Which sessions?",
                options=[{"en": "Day 1"}, {"en": "Day 2"}, {"en": "Study tour"}],
            ),
            None,
        )
        surveys.add_question(
            survey, surveys.QuestionDetails(kind="short_text", text_en="Your role?", required=False), None
        )
        questions = [(q.id, q.kind, len(q.options)) for q in survey.questions]
        assert len(questions) == 12
        people = db.session.execute(
            sa.text("SELECT id, mode FROM registration WHERE workshop_id = :w ORDER BY id"),
            {"w": workshop_id},
        ).all()
        rng = random.Random(7)
        response_rows = [{"s": survey.id, "r": rid, "mode": mode} for rid, mode in people]
        db.session.execute(
            sa.text(
                "INSERT INTO response (survey_id, registration_id, mode,"
                " organisation_type, gender, city, submitted_at)"
                " VALUES (:s, :r, :mode, 'tvet', 'woman', '重庆', now())"
            ),
            response_rows,
        )
        db.session.execute(  # everyone was invited (the response rate counts the invited)
            sa.text(
                "INSERT INTO survey_invitation (survey_id, registration_id, invited_at)"
                " SELECT :s, id, now() FROM registration WHERE workshop_id = :w"
            ),
            {"s": survey.id, "w": workshop_id},
        )
        response_ids = db.session.scalars(
            sa.text("SELECT id FROM response WHERE survey_id = :s ORDER BY id"), {"s": survey.id}
        ).all()
        answers = []
        for response_id in response_ids:
            for question_id, kind, options in questions:
                if kind == "rating":
                    answers.append({"r": response_id, "q": question_id, "n": rng.randint(1, 5), "t": ""})
                elif kind == "nps":
                    answers.append({"r": response_id, "q": question_id, "n": rng.randint(0, 10), "t": ""})
                elif kind in ("single", "multiple"):
                    answers.append({"r": response_id, "q": question_id, "n": rng.randrange(options), "t": ""})
                else:
                    answers.append(
                        {"r": response_id, "q": question_id, "n": None, "t": "很有用的培训，希望多一些案例。"}
                    )
        db.session.execute(
            sa.text("INSERT INTO answer (response_id, question_id, number, text) VALUES (:r, :q, :n, :t)"),
            answers,
        )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE answer; ANALYZE response"))
        survey = db.session.get(Survey, survey.id)

        feedback.summary(survey)  # warm
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            result = feedback.summary(survey)
            timings.append(time.perf_counter() - began)
        assert result["responded"] == RESPONSES
        report("survey_summary_10k_ms", round(min(timings) * 1000, 1), "ms")

        began = time.perf_counter()
        body = feedback.export_raw(survey, "xlsx", None)
        report("survey_xlsx_10k_s", round(time.perf_counter() - began, 2), "s")
        assert len(body) > 100_000

        with app.test_request_context():
            feedback.export_summary_pdf(survey, None)  # warm: the CJK font loads once per process
            began = time.perf_counter()
            pdf = feedback.export_summary_pdf(survey, None)
            report("survey_pdf_ms", round((time.perf_counter() - began) * 1000, 1), "ms")
        assert pdf.startswith(b"%PDF")
        db.session.remove()
        db.engine.dispose()
