"""Feedback summaries: counts, means, medians, distributions and NPS, aggregated in SQL.

An anonymous survey's figures never show a group so small that its people can be told apart:
``too_few`` is that rule, and every page, download, API answer and the programme report ask it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from babel.dates import format_date
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import (
    Answer,
    AttendanceMode,
    Gender,
    OrganisationType,
    Question,
    Registration,
    Response,
    Survey,
)
from ..models.base import utcnow
from ..models.i18n import current_language
from ..models.survey import QUESTION_KIND_LABELS
from . import audit, exports, pdf, places, surveys
from .errors import InvalidInput
from .nominations import FIELD_LABELS

FILTERS = ("mode", "organisation_type", "gender", "city")
# The values each filter may take (the city is free text: an unknown one matches nobody).
FILTER_VALUES = {
    "mode": {str(value) for value in AttendanceMode},
    "organisation_type": {str(value) for value in OrganisationType},
    "gender": {str(value) for value in Gender},
}
FILTER_LABELS = {
    "mode": _l("Attendance mode"),
    "organisation_type": _l("Type of organisation"),
    "gender": _l("Gender"),
    "city": _l("City / province"),
}
# An anonymous survey shows no figure of a group with fewer answers than this.
MIN_GROUP_SIZE = 5
TOO_FEW = _l("Too few answers to show")
WRITTEN_HIDDEN = _l("Written answers are not shown to report readers.")
TOO_FEW_REASON = _l(
    "This survey is anonymous: answers are shown for groups of at least %(n)d people, and not for a"
    " group that differs from a larger one by fewer than %(n)d, so that nobody's answers can be"
    " picked out. Choose fewer filters.",
    n=MIN_GROUP_SIZE,
)


def too_few(count: int, wider: list[int] | tuple[int, ...] = ()) -> bool:
    """Whether an anonymous survey's group of ``count`` answers must stay hidden.

    Fewer than MIN_GROUP_SIZE answers point at people. So does a group that a wider one (the
    same filters less some) exceeds by a few: the wider figures minus these would be theirs.
    """
    return count < MIN_GROUP_SIZE or any(0 < total - count < MIN_GROUP_SIZE for total in wider)


@dataclass
class Segment:
    """Which respondents to count (empty = everyone)."""

    mode: str = ""
    organisation_type: str = ""
    gender: str = ""
    city: str = ""

    @classmethod
    def from_args(cls, args) -> Segment:
        """The filters of a page's query string; an unknown value is refused (InvalidInput)."""
        segment = cls(**{name: (args.get(name) or "").strip()[:100] for name in FILTERS})
        unknown = {
            name: _l("“%(value)s” is not one of the choices for this filter.", value=value)
            for name, value in segment.active().items()
            if name in FILTER_VALUES and value not in FILTER_VALUES[name]
        }
        if unknown:
            raise InvalidInput(unknown)
        return segment

    def active(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}

    def labelled(self) -> list[tuple]:
        """The active filters as a reader names them, e.g. (“Attendance mode”, “Online”); a city
        by its division's name, else as it was typed. Lazily: a bilingual PDF reads each label
        once in each language."""
        vocabularies = {"mode": AttendanceMode, "organisation_type": OrganisationType, "gender": Gender}

        def shown(name: str, value: str):
            if name in vocabularies:
                return vocabularies[name].labels()[vocabularies[name](value)]
            if name == "city":
                return LazyString(lambda: places.snapshot_label(value, current_language()))
            return value

        return [(FILTER_LABELS[name], shown(name, value)) for name, value in self.active().items()]


@dataclass
class QuestionSummary:
    question: Question
    count: int = 0
    mean: float | None = None
    median: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)
    nps: int | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max(self.distribution.values(), default=0)


def _responses(survey: Survey, segment: Segment):
    query = select(Response.id).where(Response.survey_id == survey.id)
    for name, value in segment.active().items():
        query = query.where(getattr(Response, name) == value)
    return query


def _answer_count(survey: Survey, segment: Segment) -> int:
    return db.session.execute(
        select(func.count()).select_from(_responses(survey, segment).subquery())
    ).scalar_one()


def response_count(survey: Survey, segment: Segment | None = None) -> int:
    """How many responses of the group (``segment``) were kept: the rows of its responses download."""
    return _answer_count(survey, segment or Segment())


def suppressed(survey: Survey, segment: Segment | None = None, aggregates_only: bool = False) -> bool:
    """Whether this group's figures of this survey stay hidden (``too_few``): named surveys
    never, except for report readers (``aggregates_only``), to whom every survey is anonymous."""
    if not survey.anonymous and not aggregates_only:
        return False
    segment = segment or Segment()
    active = segment.active()
    wider = [
        _answer_count(survey, Segment(**{name: active[name] for name in kept}))
        for size in range(len(active))
        for kept in combinations(active, size)
    ]
    return too_few(_answer_count(survey, segment), wider)


def median_of(distribution: dict[int, int]) -> float | None:
    total = sum(distribution.values())
    if not total:
        return None
    ordered = sorted(distribution.items())

    def nth(n):  # the n-th value (0-based) of the sorted answers
        seen = 0
        for value, count in ordered:
            seen += count
            if n < seen:
                return value

    middle = total // 2
    return float(nth(middle)) if total % 2 else (nth(middle - 1) + nth(middle)) / 2


def nps_of(distribution: dict[int, int]) -> int | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6)."""
    total = sum(distribution.values())
    if not total:
        return None
    promoters = sum(n for value, n in distribution.items() if value >= 9)
    detractors = sum(n for value, n in distribution.items() if value <= 6)
    return round(100 * (promoters - detractors) / total)


def response_rate(survey: Survey, segment: Segment) -> surveys.ResponseRate:
    """Of the people invited in this group, how many answered (``surveys.response_rates``).

    The group is chosen by what the registrations say now, for both figures alike.
    """
    return surveys.response_rate(
        survey,
        *(
            # A place is kept on the answer by its division's name, on the registration by code.
            places.registrations_from(value) if name == "city" else getattr(Registration, name) == value
            for name, value in segment.active().items()
        ),
    )


def summary(
    survey: Survey,
    segment: Segment | None = None,
    text_limit: int | None = 200,
    aggregates_only: bool = False,
) -> dict:
    """Everything the summary page, the downloads and the API show.

    Distributions are counted by the database (GROUP BY question, value); means,
    medians and NPS follow from those few buckets. ``aggregates_only`` (report readers): small
    groups suppressed in every survey, and written answers counted, never shown (a text can
    name its writer or someone else).
    """
    segment = segment or Segment()
    rate = response_rate(survey, segment)
    if suppressed(survey, segment, aggregates_only):
        return {
            "survey": survey,
            "segment": segment,
            "aggregates_only": aggregates_only,
            "suppressed": True,
            "invited": rate.invited,
            "responded": None,
            "response_rate": None,
            "questions": [],
        }
    responses = _responses(survey, segment).subquery()
    per_question = {q.id: QuestionSummary(q) for q in survey.questions}
    counted = db.session.execute(
        select(Answer.question_id, Answer.number, func.count())
        .where(Answer.response_id.in_(select(responses.c.id)), Answer.number.is_not(None))
        .group_by(Answer.question_id, Answer.number)
    )
    for question_id, number, count in counted:
        if question_id in per_question and number is not None:
            per_question[question_id].distribution[number] = count
    texts = db.session.execute(
        select(Answer.question_id, Answer.text)
        .where(Answer.response_id.in_(select(responses.c.id)), Answer.number.is_(None))
        # An anonymous survey's texts in the order of the words, not of who answered when.
        .order_by(Answer.text if survey.anonymous else Answer.id)
    )
    for question_id, text in texts:
        item = per_question.get(question_id)
        if item is not None:
            item.count += 1
            if not aggregates_only and (text_limit is None or len(item.texts) < text_limit):
                item.texts.append(text)
    for item in per_question.values():
        question, distribution = item.question, item.distribution
        if question.kind == "multiple":
            item.count = db.session.execute(
                select(func.count(func.distinct(Answer.response_id))).where(
                    Answer.question_id == question.id, Answer.response_id.in_(select(responses.c.id))
                )
            ).scalar_one()
        elif question.kind in ("rating", "nps", "single"):
            item.count = sum(distribution.values())
        if question.kind in ("rating", "nps") and item.count:
            item.mean = round(sum(v * n for v, n in distribution.items()) / item.count, 2)
            item.median = median_of(distribution)
            for value in question.scale:
                distribution.setdefault(value, 0)
            item.distribution = dict(sorted(distribution.items()))
        if question.kind == "nps":
            item.nps = nps_of(distribution)
        if question.kind in ("single", "multiple"):
            item.distribution = {i: distribution.get(i, 0) for i in range(len(question.options))}
    return {
        "survey": survey,
        "segment": segment,
        "aggregates_only": aggregates_only,
        "suppressed": False,
        # "N answered of M invited": the same people in both (the figures below count every
        # answer kept, including those of people no longer taking part).
        "invited": rate.invited,
        "responded": rate.answered,
        "response_rate": rate.percent,
        "questions": list(per_question.values()),
    }


def as_json(result: dict) -> dict:
    """The summary for the API: plain numbers and the question texts in both languages."""
    return {
        "survey_id": result["survey"].id,
        "workshop_id": result["survey"].workshop_id,
        "anonymous": result["survey"].anonymous,
        "filters": result["segment"].active(),
        "suppressed": result["suppressed"],
        "invited": result["invited"],
        "responded": result["responded"],
        "response_rate": result["response_rate"],
        "questions": [
            {
                "id": q.question.id,
                "key": q.question.key,
                "kind": q.question.kind,
                "text_en": q.question.text_en,
                "text_zh": q.question.text_zh,
                "count": q.count,
                "mean": q.mean,
                "median": q.median,
                "nps": q.nps,
                "distribution": {str(k): v for k, v in q.distribution.items()},
                "options": q.question.option_labels("en") if q.question.options else [],
                "texts": q.texts,
            }
            for q in result["questions"]
        ],
    }


# ---- downloads ---------------------------------------------------------------------


# The filters' and the respondents' columns, labelled as on the import's and the pages' forms.
FILTER_LABELS = {name: FIELD_LABELS[name] for name in ("mode", "organisation_type", "gender", "city")}
_VOCABULARIES = {"mode": AttendanceMode, "organisation_type": OrganisationType, "gender": Gender}


def _group_value(name: str, value: str | None) -> str:
    """A respondent's group (mode, organisation type, gender, city) as the reader reads it."""
    vocabulary = _VOCABULARIES.get(name)
    if vocabulary is not None and value in {member.value for member in vocabulary}:
        return vocabulary(value).label
    if name == "city":
        return places.snapshot_label(value or "", current_language())
    return value or ""


def _question_header(number: int, question: Question, language: str) -> str:
    if language == "both":
        texts = [text for text in (question.text_zh, question.text_en) if text]
        return f"Q{number}. " + " ".join(dict.fromkeys(texts))
    return f"Q{number}. {question.localized('text', language)}"


def _answer_cells(survey: Survey, response_ids, language: str) -> dict[int, dict[int, object]]:
    """Each response's answers by question: ratings as numbers, choices by their labels in
    ``language`` (a Chinese respondent's choice reads in the download's language), the rest as text.
    ``response_ids``: a query of them (``_responses``), not 10,000 bound values."""
    cells: dict[int, dict[int, list]] = {}
    questions = {q.id: q for q in survey.questions}
    labels = {q.id: q.option_labels(language) for q in survey.questions if q.options}
    rows = db.session.execute(
        select(Answer.response_id, Answer.question_id, Answer.number, Answer.text)
        .where(Answer.response_id.in_(response_ids))
        .order_by(Answer.id)
    )
    for response_id, question_id, number, text in rows:
        question = questions.get(question_id)
        if question is None:
            continue
        value: object
        if question.kind in ("single", "multiple"):
            options = labels.get(question_id, [])
            value = options[number] if number is not None and number < len(options) else ""
        else:
            value = text if number is None else number
        cells.setdefault(response_id, {}).setdefault(question_id, []).append(value)
    return {
        rid: {
            qid: values[0] if len(values) == 1 else "; ".join(map(str, values))
            for qid, values in by_q.items()
        }
        for rid, by_q in cells.items()
    }


def _question_columns(survey: Survey, language: str) -> list[exports.Column]:
    return [
        exports.Column(
            _question_header(number, q, language),
            exports.WHOLE if q.kind in ("rating", "nps") else exports.TEXT,
        )
        for number, q in enumerate(survey.questions, start=1)
    ]


def raw_table(survey: Survey, segment: Segment | None = None, language: str = "en") -> exports.Table:
    """One row per response.

    A named survey's rows say who answered and describe them. An anonymous survey's rows carry
    the answers alone (no name, and nothing that together points at a person: no mode,
    organisation type, gender, city or time), in the order of the answers themselves, not of
    who answered when; a group too small to show (``suppressed``) has no rows at all.
    """
    segment = segment or Segment()
    answers = exports.values_language(language)
    questions = _question_columns(survey, language)
    if survey.anonymous:
        if suppressed(survey, segment):
            return exports.Table(_l("Survey responses"), [exports.Column(TOO_FEW)], [])
        ids = list(db.session.scalars(_responses(survey, segment)))
        cells = _answer_cells(survey, _responses(survey, segment), answers)
        rows = [[cells.get(rid, {}).get(q.id, "") for q in survey.questions] for rid in ids]
        return exports.Table(
            _l("Survey responses"), questions, sorted(rows, key=lambda row: [str(v) for v in row])
        )
    responses = db.session.scalars(
        select(Response).where(Response.id.in_(_responses(survey, segment))).order_by(Response.id)
    ).all()
    # Only what the rows show of each person, found by a subquery (not 10,000 bound ids).
    answering = select(Response.registration_id).where(Response.id.in_(_responses(survey, segment)))
    people = {
        rid: [name, email, organisation]
        for rid, name, email, organisation in db.session.execute(
            select(
                Registration.id, Registration.full_name, Registration.email, Registration.organisation
            ).where(Registration.id.in_(answering))
        )
    }
    cells = _answer_cells(survey, _responses(survey, segment), answers)
    zone = survey.workshop.timezone
    who = [
        exports.Column(FIELD_LABELS["full_name"]),
        exports.Column(FIELD_LABELS["email"]),
        exports.Column(FIELD_LABELS["organisation"]),
        *(exports.Column(FILTER_LABELS[name]) for name in FILTERS),
        exports.Column(_l("Submitted at"), exports.MOMENT, zone),
    ]
    # Each group's label translated once per download, not once per cell (40,000 in 10,000 rows).
    groups: dict[tuple[str, str | None], str] = {}

    def group(name: str, value: str | None) -> str:
        if (name, value) not in groups:
            groups[name, value] = _group_value(name, value)
        return groups[name, value]

    rows = []
    for response in responses:
        row: list = list(people.get(response.registration_id or 0, ("", "", "")))
        row += [group(name, getattr(response, name)) for name in FILTERS]
        row.append(exports.local(response.submitted_at, zone))
        row += [cells.get(response.id, {}).get(q.id, "") for q in survey.questions]
        rows.append(row)
    return exports.Table(_l("Survey responses"), who + questions, rows)


def group_counts(survey: Survey, segment: Segment | None = None) -> exports.Table:
    """How many answers came from each group (mode, organisation type, gender, city): counts
    only, so an anonymous export can say who answered without saying who answered what. A
    count below MIN_GROUP_SIZE in an anonymous survey is shown as too few."""
    segment = segment or Segment()
    ids = _responses(survey, segment)
    rows: list[list] = []
    for name in FILTERS:
        column = getattr(Response, name)
        counts: dict[str, int] = dict(
            db.session.execute(
                select(column, func.count()).where(Response.id.in_(ids)).group_by(column)
            ).all()
        )
        for value, count in sorted(counts.items(), key=lambda item: str(item[0])):
            shown = str(TOO_FEW) if survey.anonymous and too_few(count) else count
            rows.append([str(FILTER_LABELS[name]), _group_value(name, value) or "—", shown])
    columns = [
        exports.Column(_l("Group")),
        exports.Column(_l("Value")),
        exports.Column(_l("Answers"), exports.WHOLE),
    ]
    return exports.Table(_l("Groups"), columns, rows)


def _download(survey: Survey, title, segment: Segment, language: str, tables) -> exports.Download:
    return exports.Download(
        title=title,
        workshop_title=exports.workshop_title(survey.workshop),
        zone=survey.workshop.timezone,
        language=language,
        tables=tables,
        filters=[
            (FILTER_LABELS[name], _group_value(name, value)) for name, value in segment.active().items()
        ],
    )


def export_raw(
    survey: Survey,
    fmt: str,
    actor,
    segment: Segment | None = None,
    language: str = "en",
    progress: exports.Progress | None = None,
) -> bytes:
    """Every answer, one row per response (``raw_table``), headers in ``language`` (``exports``);
    ``progress``: told as rows are written (a job's)."""
    segment = segment or Segment()
    with exports.speaking(language):
        table = raw_table(survey, segment, language)
        tables = [table]
        if fmt == "xlsx" and survey.anonymous and table.rows:
            tables.append(group_counts(survey, segment))
        download = _download(survey, _l("Survey answers"), segment, language, tables)
    audit.record("survey.export_raw", survey, actor, format=fmt, rows=len(table.rows), language=language)
    db.session.commit()
    return exports.write(download, fmt, progress)


def _summary_tables(survey: Survey, result: dict, language: str) -> list[exports.Table]:
    figure = [exports.Column(_l("Figure")), exports.Column(_l("Value"), exports.NUMBER)]
    if result["suppressed"]:
        rows: list[list] = [[str(_l("Invited")), result["invited"]], [str(TOO_FEW), str(TOO_FEW_REASON)]]
        return [exports.Table(_l("Overview"), figure, rows)]
    overview = exports.Table(
        _l("Overview"),
        figure,
        [
            [str(_l("Invited")), result["invited"]],
            [str(_l("Answered (of those invited)")), result["responded"]],
            [str(_l("Response rate (%)")), result["response_rate"]],
        ],
    )
    questions = exports.Table(
        _l("Questions"),
        [
            exports.Column(_l("Question")),
            exports.Column(_l("Type")),
            exports.Column(_l("Answers"), exports.WHOLE),
            exports.Column(_l("Mean"), exports.NUMBER),
            exports.Column(_l("Median"), exports.NUMBER),
            exports.Column(_l("NPS"), exports.WHOLE),
        ],
        [],
    )
    tables = [overview, questions]
    values = exports.values_language(language)
    for number, item in enumerate(result["questions"], start=1):
        question = item.question
        header = _question_header(number, question, language)
        questions.rows.append(
            [header, str(QUESTION_KIND_LABELS[question.kind]), item.count, item.mean, item.median, item.nps]
        )
        if question.kind in ("long_text", "short_text"):
            # Report readers get the count of written answers (on the sheet of questions), never the words.
            texts = [[str(WRITTEN_HIDDEN)]] if result["aggregates_only"] else [[text] for text in item.texts]
            tables.append(exports.Table(f"Q{number}", [exports.Column(header)], texts))
            continue
        labels = question.option_labels(values) if question.options else None
        # The first column lists the answers to the question it is named after.
        answer = exports.Column(header, exports.TEXT if labels else exports.WHOLE)
        rows = [[labels[value] if labels else value, count] for value, count in item.distribution.items()]
        tables.append(exports.Table(f"Q{number}", [answer, exports.Column(_l("Count"), exports.WHOLE)], rows))
    return tables


def export_summary_xlsx(
    survey: Survey,
    actor,
    segment: Segment | None = None,
    language: str = "en",
    aggregates_only: bool = False,
) -> bytes:
    """The figures, a row per question and a sheet per question, headers in ``language``;
    for report readers (``aggregates_only``) as their summary page shows them (``summary``)."""
    segment = segment or Segment()
    result = summary(survey, segment, text_limit=None, aggregates_only=aggregates_only)
    with exports.speaking(language):
        download = _download(
            survey, _l("Feedback summary"), segment, language, _summary_tables(survey, result, language)
        )
    audit.record("survey.export_summary", survey, actor, format="xlsx", language=language)
    db.session.commit()
    return exports.write_xlsx(download)


def pdf_dates(survey: Survey, made_at) -> dict[str, dict[str, str]]:
    """The summary PDF's dates of the workshop and the time it was made, in Chinese and in
    English (``zh``, ``en``): the PDF is read in both, whichever language asked for it."""
    workshop = survey.workshop
    made = exports.local(made_at, workshop.timezone)
    lines = {}
    for language in ("zh", "en"):
        locale = CATALOGUES[language]
        days = [
            format_date(workshop.local(moment), "medium", locale=locale)
            for moment in (workshop.starts_at, workshop.ends_at)
        ]
        with force_locale(locale):
            generated = str(
                _l("Generated %(time)s (%(zone)s)", time=f"{made:%Y-%m-%d %H:%M}", zone=workshop.timezone)
            )
        lines[language] = {"dates": " – ".join(dict.fromkeys(days)), "generated": generated}
    return lines


def export_summary_pdf(
    survey: Survey, actor, segment: Segment | None = None, aggregates_only: bool = False
) -> bytes:
    """A report to send to the ministry as it is: bilingual headings, SVG charts; for report
    readers (``aggregates_only``) as their summary page shows them (``summary``)."""
    result = summary(survey, segment, text_limit=50, aggregates_only=aggregates_only)
    html = render_template(
        "staff/survey_summary_pdf.html",
        **result,
        dates=pdf_dates(survey, utcnow()),
        workshop=survey.workshop,
        too_few=TOO_FEW,
        too_few_reason=TOO_FEW_REASON,
        bilingual=pdf.bilingual,
    )
    audit.record("survey.export_summary", survey, actor, format="pdf")
    db.session.commit()
    return pdf.render_pdf(html)
