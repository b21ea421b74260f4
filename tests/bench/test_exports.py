"""The downloads that decide what runs as a job (services.downloads), on PostgreSQL: 10,000
registrations and 10,000 survey responses x 12 questions as XLSX (targets: 2 s and 3 s on two
cores), the same at the instant path's limit (EXPORT_INSTANT_ROWS), and a programme report's PDF."""

import io
import random
import time
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import insert_people, insert_workshop

ROWS = 10_000


def _best_of(runs: int, make) -> tuple[float, bytes]:
    timings, body = [], b""
    for _ in range(runs):
        began = time.perf_counter()
        body = make()
        timings.append(time.perf_counter() - began)
    return min(timings), body


def _survey_with_answers(db, workshop_id: int):
    """The standard questions, a multiple choice and a short text (12), answered by everyone."""
    from workshops.models import Workshop
    from workshops.services import surveys

    survey = surveys.survey_for(db.session.get(Workshop, workshop_id))
    surveys.apply_template(survey, None)
    surveys.add_question(
        survey,
        surveys.QuestionDetails(
            kind="multiple", text_en="Which sessions?", options=[{"en": "Day 1"}, {"en": "Day 2"}]
        ),
        None,
    )
    surveys.add_question(
        survey, surveys.QuestionDetails(kind="short_text", text_en="Your role?", required=False), None
    )
    questions = [(q.id, q.kind, len(q.options)) for q in survey.questions]
    assert len(questions) == 12
    people = db.session.execute(
        sa.text("SELECT id, mode FROM registration WHERE workshop_id = :w ORDER BY id"), {"w": workshop_id}
    ).all()
    db.session.execute(
        sa.text(
            "INSERT INTO response (survey_id, registration_id, mode, organisation_type, gender, city,"
            " submitted_at) VALUES (:s, :r, :mode, 'tvet', 'woman', '重庆', now())"
        ),
        [{"s": survey.id, "r": rid, "mode": mode} for rid, mode in people],
    )
    rng = random.Random(7)
    answers = []
    for (response_id,) in db.session.execute(
        sa.text("SELECT id FROM response WHERE survey_id = :s ORDER BY id"), {"s": survey.id}
    ):
        for question_id, kind, options in questions:
            number = (
                rng.randint(1, 5)
                if kind == "rating"
                else rng.randint(0, 10)
                if kind == "nps"
                else rng.randrange(options)
                if options
                else None
            )
            answers.append(
                {"r": response_id, "q": question_id, "n": number, "t": "" if number is not None else "教师"}
            )
    db.session.execute(
        sa.text("INSERT INTO answer (response_id, question_id, number, text) VALUES (:r, :q, :n, :t)"),
        answers,
    )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE answer; ANALYZE response; ANALYZE registration"))
    return survey


def test_exports_of_ten_thousand_rows(bench_database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", bench_database_url)
    monkeypatch.setenv("SECRET_KEY", "bench")
    from openpyxl import load_workbook

    from workshops import create_app
    from workshops.extensions import db
    from workshops.models import Programme, Workshop
    from workshops.services import exports, feedback, reports, roster

    big, _session = insert_workshop(bench_database_url, starts_in=timedelta(days=-3))
    insert_people(bench_database_url, big, ROWS)
    app = create_app()
    limit = app.config["EXPORT_INSTANT_ROWS"]
    small, _session = insert_workshop(bench_database_url, starts_in=timedelta(days=-3))
    insert_people(bench_database_url, small, limit)
    with app.test_request_context():
        workshop = db.session.get(Workshop, big)
        seconds, body = _best_of(3, lambda: roster.export(workshop, "xlsx", None, language="both"))
        report("registrations_xlsx_10k_s", round(seconds, 2), "s")
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        assert sum(1 for _row in sheet.iter_rows(values_only=True)) == exports.HEADER_ROW + ROWS
        seconds, _body = _best_of(3, lambda: roster.export(db.session.get(Workshop, small), "xlsx", None))
        report("registrations_xlsx_at_instant_limit_s", round(seconds, 2), "s")

        survey = _survey_with_answers(db, big)
        seconds, body = _best_of(3, lambda: feedback.export_raw(survey, "xlsx", None, language="both"))
        report("survey_answers_xlsx_10k_s", round(seconds, 2), "s")
        assert len(body) > 100_000
        small_survey = _survey_with_answers(db, small)
        seconds, _body = _best_of(3, lambda: feedback.export_raw(small_survey, "xlsx", None))
        report("survey_answers_xlsx_at_instant_limit_s", round(seconds, 2), "s")

        # The programme report's PDF over both workshops (12,000 registrations, one survey each).
        programme = Programme(code="BENCH", name_en="Bench programme", name_zh="压测项目")
        db.session.add(programme)
        db.session.commit()
        db.session.execute(
            sa.text("UPDATE workshop SET programme_id = :p WHERE id IN (:a, :b)"),
            {"p": programme.id, "a": big, "b": small},
        )
        db.session.commit()
        made = lambda: reports.report_pdf(reports.programme_report(programme), None)  # noqa: E731
        made()  # warm: the CJK font loads once per process
        seconds, pdf = _best_of(2, made)
        report("programme_report_pdf_12k_registrations_s", round(seconds, 2), "s")
        assert pdf.startswith(b"%PDF")
        db.session.remove()
        db.engine.dispose()
