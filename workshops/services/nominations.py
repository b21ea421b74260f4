"""Importing nominations (CSV/XLSX from pilot enterprises): preview first, write on confirmation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from celery import shared_task
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    AttendanceMode,
    Gender,
    Job,
    JobKind,
    JobStatus,
    OrganisationType,
    RegistrationSource,
    Workshop,
)
from ..models.base import utcnow
from . import audit, jobs
from . import registration as registrations
from .errors import InvalidInput, ServiceError
from .registration import Applicant
from .spreadsheets import read_table

# Header names people actually use, in both languages, for each field.
HEADERS = {
    "full_name": ["full_name", "full name", "name", "姓名", "名字"],
    "latin_name": ["latin_name", "latin name", "name in latin letters", "英文名", "拼音"],
    "email": ["email", "e-mail", "email address", "邮箱", "电子邮箱", "电子邮件"],
    "mobile": ["mobile", "phone", "mobile phone", "手机", "手机号", "电话"],
    "organisation": ["organisation", "organization", "单位", "工作单位", "机构"],
    "organisation_type": [
        "organisation_type",
        "organization type",
        "type of organisation",
        "单位类型",
        "机构类型",
    ],
    "job_title": ["job_title", "job title", "title", "position", "职务", "职位"],
    "gender": ["gender", "性别"],
    "city": ["city", "city / province", "城市", "省市", "所在城市"],
    "mode": ["mode", "attendance", "参会方式", "参加方式"],
    "language": ["language", "语言"],
    "needs": ["needs", "access or dietary needs", "特殊需求"],
}


def _vocabulary(enum_cls) -> dict[str, str]:
    """Every way of writing a value: its code and its label in English and Chinese."""
    words = {}
    for member in enum_cls:
        words[member.value.lower()] = member.value
        for locale in ("en", "zh_Hans_CN"):
            with force_locale(locale):
                words[str(member.label).lower()] = member.value
    return words


@dataclass
class RowReport:
    line: int
    values: dict
    errors: dict
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicate


def _normalise_row(raw: dict, columns: dict[str, str], workshop: Workshop, vocab: dict) -> dict:
    values = {field: raw.get(column, "") for field, column in columns.items()}
    for field in ("organisation_type", "gender", "mode"):
        if values.get(field):
            values[field] = vocab[field].get(values[field].lower(), values[field])
    if not values.get("mode") and len(workshop.modes) == 1:
        values["mode"] = workshop.modes[0]
    values.setdefault("organisation_type", OrganisationType.OTHER.value)
    values["organisation_type"] = values["organisation_type"] or OrganisationType.OTHER.value
    values["gender"] = values.get("gender") or Gender.UNDISCLOSED.value
    language = (values.get("language") or "zh").lower()
    values["language"] = "en" if language in ("en", "english", "英文", "英语") else "zh"
    return values


def preview_import(workshop: Workshop, filename: str, data: bytes, actor) -> Job:
    """Check every row and keep the result as a job in 'preview'. Nothing is registered yet."""
    table = read_table(filename, data)
    header = {name.lower(): name for name in table[0]}
    columns = {
        field: header[alias] for field, aliases in HEADERS.items() for alias in aliases if alias in header
    }
    missing = [field for field in ("full_name", "email") if field not in columns]
    if missing:
        raise InvalidInput(
            {
                "file": _l(
                    "The header row needs at least a name column and an email column (e.g."
                    " 'Name', 'Email' or '姓名', '邮箱')."
                )
            }
        )
    vocab = {
        "organisation_type": _vocabulary(OrganisationType),
        "gender": _vocabulary(Gender),
        "mode": _vocabulary(AttendanceMode),
    }
    reports: list[RowReport] = []
    seen: set[str] = set()  # the emails and mobiles of the rows above
    for line, raw in enumerate(table, start=2):
        values = _normalise_row(raw, columns, workshop, vocab)
        report = RowReport(line=line, values=values, errors={})
        try:
            contact = registrations.check_applicant(
                Applicant.from_mapping(values), workshop, require_consent=False
            )
        except InvalidInput as error:
            report.errors = {field: str(message) for field, message in error.errors.items()}
        else:
            keys = {key for key in (contact.email, contact.mobile) if key}
            report.duplicate = (
                bool(keys & seen) or registrations.find_active(workshop.id, contact) is not None
            )
            seen |= keys
        reports.append(report)
    job = Job(
        kind=JobKind.IMPORT,
        status=JobStatus.PREVIEW,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=sum(r.ok for r in reports),
        payload={"filename": filename, "rows": [asdict(r) for r in reports]},
    )
    db.session.add(job)
    audit.record("registration.import_preview", workshop, actor, filename=filename, rows=len(reports))
    db.session.commit()
    return job


def row_reports(job: Job) -> list[RowReport]:
    return [RowReport(**row) for row in job.payload.get("rows", [])]


def confirm_import(job: Job, actor) -> Job:
    """Queue the checked rows for registration in the background."""

    return jobs.confirm_preview(job, JobKind.IMPORT, "registration.import_confirm", actor)


def run_import(job_id: int) -> None:
    """Register each previewed row (one transaction per person); progress is kept on the job."""
    runner = jobs.claim(job_id)
    if runner is None:  # done, or another run holds it
        return
    job = db.session.get(Job, job_id, populate_existing=True)
    workshop_id = job.workshop_id if job is not None else None
    if job is None or workshop_id is None:  # deleted with its workshop since it was claimed
        return
    created = skipped = 0
    start = job.done  # resumes after a worker restart
    for report in [r for r in row_reports(job) if r.ok][start:]:
        if not jobs.still_mine(job_id, runner):
            db.session.rollback()
            return
        db.session.commit()
        try:
            result = registrations.register(
                workshop_id, Applicant.from_mapping(report.values), source=RegistrationSource.IMPORT
            )
        except ServiceError:
            skipped += 1
        else:
            created += result.outcome != registrations.Outcome.ALREADY_REGISTERED
            skipped += result.outcome == registrations.Outcome.ALREADY_REGISTERED
        db.session.execute(Job.__table__.update().where(Job.id == job_id).values(done=Job.done + 1))
        db.session.commit()
    job.result = {
        "created": job.result.get("created", 0) + created,
        "skipped": job.result.get("skipped", 0) + skipped,
    }
    job.status = JobStatus.DONE
    job.finished_at = utcnow()
    db.session.commit()


@jobs.carried_out_by(JobKind.IMPORT)
@shared_task(name="registrations.import", ignore_result=True, acks_late=True)
def run_import_task(job_id: int) -> None:
    run_import(job_id)
