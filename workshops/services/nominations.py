"""Importing nominations: the lists enterprises, colleges and agencies send, taken as they come.

A list is read the way a person reads it (the shapes are in docs, REAL_FILES): the header row
is found by what it says among the first rows; titles above it (``XX公司 推荐学员名单``,
``填报单位（盖章）：…``) and blank, totals (``合计：7人``) and signature rows under it are skipped
and listed; columns are matched to fields by their headers, in Chinese, English or both in one
cell (``姓名 Name``); a merged cell's value belongs to every row it spans
(``spreadsheets.read_rows``); values are read with the rules of ``contacts``.

The column mapping is a step of its own, as in pretix's order import: every column of the file
is read into a field or left out, and a field the file lacks can be given one value for every
row that has none (``Mapping``). The coordinator may change the mapping on the preview; the one
used for an import is remembered for the programme's next workshop (a workshop outside any
programme remembers its own: ``ImportMapping``).

Nothing is registered before the coordinator confirms: ``preview_import`` keeps the rows as
read, the mapping and the decision on every row in a Job in 'preview'; ``remap_preview``
decides again under another mapping; ``confirm_import`` hands the accepted rows to a Celery
task that registers each of them (``run_import``). The command line (``flask registrations
import``) goes through the same functions, synchronously (``import_file``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from celery import shared_task
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from ..extensions import db
from ..models import (
    AttendanceMode,
    Gender,
    ImportMapping,
    Job,
    JobFile,
    JobKind,
    JobStatus,
    OrganisationType,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Workshop,
    WorkshopStatus,
)
from ..models.base import utcnow
from ..models.i18n import current_language
from . import audit, contacts, jobs, places
from . import registration as registrations
from .errors import InvalidInput, NotAllowed, ServiceError
from .registration import Applicant
from .spreadsheets import MAX_ROWS, column_letter, read_rows, too_many_rows

# The fields a column can be read into, in the order the preview shows them.
FIELDS = (
    "full_name",
    "latin_name",
    "gender",
    "organisation",
    "organisation_type",
    "job_title",
    "mobile",
    "email",
    "province",
    "city",
    "mode",
    "language",
    "needs",
)
FIELD_LABELS = {
    "full_name": _l("Name"),
    "latin_name": _l("Name in Latin letters"),
    "gender": _l("Gender"),
    "organisation": _l("Organisation"),
    "organisation_type": _l("Type of organisation"),
    "job_title": _l("Job title"),
    "mobile": _l("Mobile"),
    "email": _l("Email"),
    "province": _l("Province"),
    "city": _l("City"),
    "mode": _l("Attendance mode"),
    "language": _l("Language"),
    "needs": _l("Access or dietary needs"),
}
# Fields a file often lacks, which can be given one value for every row.
CONSTANT_FIELDS = ("mode", "organisation_type", "language", "organisation")

# Header names people actually use, in both languages, for each field (compared after
# header_key; a bilingual header matches by either of its halves).
HEADERS = {
    "full_name": ["full_name", "full name", "name", "姓名", "名字", "学员姓名", "参会人姓名", "参会人"],
    "latin_name": [
        "latin_name",
        "latin name",
        "name in latin letters",
        "english name",
        "英文名",
        "英文姓名",
        "拼音",
        "姓名拼音",
    ],
    "gender": ["gender", "sex", "性别"],
    "organisation": [
        "organisation",
        "organization",
        "company",
        "employer",
        "institution",
        "单位",
        "工作单位",
        "所在单位",
        "单位名称",
        "机构",
        "公司",
    ],
    "organisation_type": [
        "organisation_type",
        "organisation type",
        "organization type",
        "type of organisation",
        "type of organization",
        "单位类型",
        "单位性质",
        "机构类型",
    ],
    "job_title": ["job_title", "job title", "title", "position", "职务", "职位", "岗位", "职称"],
    "mobile": [
        "mobile",
        "mobile phone",
        "mobile number",
        "phone",
        "phone number",
        "cell phone",
        "telephone",
        "tel",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话",
        "联系方式",
    ],
    "email": [
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "mail",
        "邮箱",
        "电子邮箱",
        "电子邮件",
        "邮件",
    ],
    # A list may give the province apart (an export from here does): it is read with the city.
    "province": ["province", "省份", "省", "所在省份", "所在省", "省/直辖市", "省（自治区、直辖市）"],
    "city": ["city", "city / province", "region", "城市", "所在城市", "地区", "所在地区", "省市", "地市"],
    "mode": ["mode", "attendance", "attendance mode", "参会方式", "参加方式", "参会形式"],
    "language": ["language", "语言"],
    "needs": ["needs", "access or dietary needs", "特殊需求"],
}
# A column numbering the rows (序号): a header, read into no field.
NUMBERING = "#"
NUMBERING_HEADERS = ["序号", "编号", "no", "no.", "#", "number", "s/n"]
_ALIASES = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
_ALIASES.update(dict.fromkeys(NUMBERING_HEADERS, NUMBERING))
# The header row is looked for among this many rows that are not blank.
HEADER_SEARCH_ROWS = 20

_CJK = "\u3400-\u9fff\uf900-\ufaff"
# What a header cell says besides its name: a required mark, a note in brackets, a colon.
_HEADER_NOTES = re.compile(r"[*]|[(\[【][^)\]】]*[)\]】]")
# Rows under the header that are not a person (compared with the row's first cell).
_TOTALS = re.compile(r"^(?:合计|总计|共计|小计|总人数|人数合计|(?:total|sum)\b)")
_SIGNATURE = re.compile(
    r"^(?:填表人|填报人|制表人|审核人|经办人|报送人|负责人|联系人|签字|签名|盖章|单位盖章|填表日期|填报日期"
    r"|报送日期|日期|备注|注|说明|prepared by|filled in by|contact person|signature|signed|date|notes?"
    r"|remarks)(?:\s|[:：]|$)"
)
# The fields that make a row a person: a row with none of them has nothing to import.
_PERSON = ("full_name", "latin_name", "email", "mobile")

SKIP_REASONS = {
    "title": _l("above the header row (a title or the form's details)"),
    "blank": _l("blank"),
    "totals": _l("a totals row"),
    "signature": _l("a signature or a note"),
    "empty": _l("no name, email or mobile in the columns read"),
}


def header_key(text: str | None) -> str:
    """A header as it is compared and remembered: NFKC, lower case, single spaces."""
    return " ".join(contacts.nfkc(text).lower().split())


def header_field(text: str | None) -> str:
    """The field a header names (``NUMBERING`` for 序号), or "" if it names none.

    ``姓名 Name``, ``电子邮箱 Email``, ``手机号码（必填）`` and ``E-mail:`` are all understood."""
    key = header_key(text)
    bare = " ".join(_HEADER_NOTES.sub(" ", key).split()).strip(" :")
    if ":" in bare:  # 联系电话：023-6888 1234 is a label and its value, not a header
        return ""
    chinese = "".join(re.findall(f"[{_CJK}]", bare))
    latin = " ".join(re.sub(f"[{_CJK}]", " ", bare).split()).strip(" /|-")
    for word in (key, bare, chinese, latin):
        if word in _ALIASES:
            return _ALIASES[word]
        if word in _label_aliases():
            return _label_aliases()[word]
    return ""


@cache
def _label_aliases() -> dict[str, str]:
    """The fields' own labels in both languages: a list exported here re-imports by its headers."""
    words = {}
    for name, label in FIELD_LABELS.items():
        for locale in ("en", "zh_Hans_CN"):
            with force_locale(locale):
                words[header_key(str(label))] = name
    return words


@dataclass
class Sheet:
    """A nominations file as read: its header and the rows under it, with line numbers as a
    spreadsheet program shows them, and the lines skipped with why (``SKIP_REASONS``)."""

    header_line: int
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    skipped: list[tuple[int, str]]


def _skip_reason(cells: list[str]) -> str:
    first = next((contacts.nfkc(cell).lower() for cell in cells if cell.strip()), "")
    if not first:
        return "blank"
    if _TOTALS.match(first):
        return "totals"
    if _SIGNATURE.match(first):
        return "signature"
    return ""


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The file's header row (found by its content) and the rows under it; refuses a file
    that cannot be read or has no header or no row under it (``InvalidInput`` on "file")."""
    rows = read_rows(filename, data)
    header_index, best, looked = -1, 1, 0
    for index, cells in enumerate(rows):
        if not any(cell.strip() for cell in cells):
            continue
        looked += 1
        if looked > HEADER_SEARCH_ROWS:
            break
        named = {header_field(cell) for cell in cells} - {""}
        if len(named) > best:  # at least two known columns; the first row of the most
            header_index, best = index, len(named)
    if header_index < 0:
        raise InvalidInput(
            {
                "file": _l(
                    "No header row found in the first %(n)d rows: the list needs a row naming its columns,"
                    " such as 姓名, 手机 and 邮箱 (or Name, Mobile and Email).",
                    n=HEADER_SEARCH_ROWS,
                )
            }
        )
    skipped = [
        (line, "title" if any(cell.strip() for cell in cells) else "blank")
        for line, cells in enumerate(rows[:header_index], start=1)
    ]
    data_rows = []
    for line, cells in enumerate(rows[header_index + 1 :], start=header_index + 2):
        reason = _skip_reason(cells)
        if reason:
            skipped.append((line, reason))
        else:
            data_rows.append((line, cells))
    if not data_rows:
        raise InvalidInput({"file": _l("The file has no rows under its header row.")})
    if len(data_rows) > MAX_ROWS:
        raise too_many_rows()
    width = max([len(rows[header_index])] + [len(cells) for _line, cells in data_rows])
    headers = [cell.strip() for cell in rows[header_index]] + [""] * (width - len(rows[header_index]))
    return Sheet(header_index + 1, headers, data_rows, skipped)


@dataclass
class Mapping:
    """What each column of the file is read into (a field, or "" for a column left out), and
    a value for the rows that give none of a field (``{"mode": "online"}``)."""

    columns: list[str]
    constants: dict[str, str] = field(default_factory=dict)


def _scope(workshop: Workshop):
    """Where a workshop's mapping is remembered: its programme, else the workshop itself."""
    if workshop.programme_id is not None:
        return ImportMapping.programme_id == workshop.programme_id
    return ImportMapping.workshop_id == workshop.id


def remembered_mapping(workshop: Workshop) -> ImportMapping | None:
    return db.session.scalar(select(ImportMapping).where(_scope(workshop)))


def suggest_mapping(workshop: Workshop, headers: list[str]) -> Mapping:
    """The mapping a file starts with: what was chosen for the same headers last time (for
    this programme), then the headers' own names; each field from one column at most (the
    first). Remembered values for everyone apply where they still fit this workshop."""
    remembered = remembered_mapping(workshop)
    chosen = dict(remembered.columns) if remembered is not None else {}
    columns = [""] * len(headers)
    taken: set[str] = set()
    for index, header in enumerate(headers):
        name = chosen.get(header_key(header))
        if name in FIELDS and name not in taken:
            columns[index] = name
            taken.add(name)
    for index, header in enumerate(headers):
        name = header_field(header)
        if header_key(header) not in chosen and name in FIELDS and name not in taken:
            columns[index] = name
            taken.add(name)
    constants = {}
    for name, value in (remembered.constants if remembered is not None else {}).items():
        try:
            constants[name] = _constant(workshop, name, value)
        except InvalidInput:
            continue  # e.g. online for everyone, remembered from a hybrid workshop
    return Mapping(columns, {name: value for name, value in constants.items() if value})


def _constant(workshop: Workshop, name: str, value: str) -> str:
    """A value for everyone, as stored (a code), or InvalidInput saying what fits."""
    if name not in CONSTANT_FIELDS:
        raise InvalidInput(
            {
                "mapping": _l(
                    "A value for everyone can be given for %(fields)s only.",
                    fields=", ".join(str(FIELD_LABELS[n]) for n in CONSTANT_FIELDS),
                )
            }
        )
    text = " ".join(contacts.nfkc(value).split())
    if not text:
        return ""
    if name == "mode":
        mode = contacts.mode_from_word(text)
        if mode is None or mode not in workshop.modes:
            raise InvalidInput(
                {
                    "mapping": _l(
                        "Choose an attendance mode of this workshop: %(modes)s.",
                        modes=", ".join(str(AttendanceMode(m).label) for m in workshop.modes),
                    )
                }
            )
        return mode.value
    if name == "organisation_type":
        code = _vocabulary(OrganisationType).get(text.lower())
        if code is None:
            raise InvalidInput({"mapping": _l("Choose the type of your organisation.")})
        return code
    if name == "language":
        language = _language(text)
        if language is None:
            raise InvalidInput({"mapping": _l("Choose English or Chinese.")})
        return language
    limit = registrations.LIMITS["organisation"]
    if len(text) > limit:
        raise InvalidInput({"mapping": _l("Use at most %(n)d characters.", n=limit)})
    return text


def _field_name(word: str) -> str:
    """A field given by its code or its label (``-`` or nothing: left out)."""
    text = contacts.nfkc(word).lower()
    if text in ("", "-", "none"):
        return ""
    for name in FIELDS:
        if text in (name, str(FIELD_LABELS[name]).lower()):
            return name
    raise InvalidInput(
        {
            "mapping": _l(
                "%(word)s is not a field; the fields are %(fields)s (or - to leave the column out).",
                word=word,
                fields=", ".join(FIELDS),
            )
        }
    )


def mapping_from_choices(
    workshop: Workshop, sheet_headers: list[str], columns: list[str], constants: dict[str, str]
) -> Mapping:
    """A whole mapping chosen by the coordinator (the preview's form): a field for every
    column, values for everyone. Refuses a field read from two columns."""
    names = [_field_name(word) for word in columns[: len(sheet_headers)]]
    names += [""] * (len(sheet_headers) - len(names))
    for index, name in enumerate(names):
        if name and name in names[:index]:
            first = names.index(name)
            raise InvalidInput(
                {
                    "mapping": _l(
                        "%(field)s is read from two columns (%(first)s and %(second)s): choose one.",
                        field=FIELD_LABELS[name],
                        first=column_letter(first),
                        second=column_letter(index),
                    )
                }
            )
    values = {name: _constant(workshop, name, value) for name, value in constants.items()}
    return Mapping(names, {name: value for name, value in values.items() if value})


def override_mapping(
    workshop: Workshop, sheet: Sheet, mapping: Mapping, columns: dict[str, str], constants: dict[str, str]
) -> Mapping:
    """The suggested mapping with some columns and values chosen (the command line's --map
    and --set). A column is named by its header, its letter or its number; a column chosen
    for a field takes it from the column suggested for it."""
    names = list(mapping.columns)
    for column, word in columns.items():
        index = _column_index(sheet, column)
        name = _field_name(word)
        if name:
            names = ["" if other == name else other for other in names]
        names[index] = name
    values = dict(mapping.constants)
    for name, value in constants.items():
        values[name] = _constant(workshop, name, value)
    return Mapping(names, {name: value for name, value in values.items() if value})


def _column_index(sheet: Sheet, column: str) -> int:
    key = header_key(column)
    for index, header in enumerate(sheet.headers):
        if key and header_key(header) == key:
            return index
    for index in range(len(sheet.headers)):
        if key in (column_letter(index).lower(), str(index + 1)):
            return index
    raise InvalidInput(
        {
            "mapping": _l(
                "No column %(column)s in the header row (line %(line)d): name a column by its header,"
                " its letter or its number.",
                column=column,
                line=sheet.header_line,
            )
        }
    )


def _vocabulary(enum_cls) -> dict[str, str]:
    """Every way of writing a value: its code and its label in English and Chinese."""
    words = {}
    for member in enum_cls:
        words[member.value.lower()] = member.value
        for locale in ("en", "zh_Hans_CN"):
            with force_locale(locale):
                words[str(member.label).lower()] = member.value
    return words


def _language(word: str) -> str | None:
    text = contacts.nfkc(word).lower()
    if text in ("", "zh", "chinese", "中文", "汉语", "普通话"):
        return "zh"
    if text in ("en", "english", "英文", "英语"):
        return "en"
    return None


@dataclass
class RowReport:
    """One person of the file: every field as it will be registered, and whether it will."""

    line: int
    values: dict
    errors: dict = field(default_factory=dict)  # why it is refused, by field
    warnings: list = field(default_factory=list)
    same_as: int | None = None  # the line above with the same person
    registered: str = ""  # the status of this person's registration at the workshop already

    @property
    def ok(self) -> bool:
        return not self.errors and self.same_as is None and not self.registered

    @property
    def reasons(self) -> list[str]:
        """Why the row is refused, in the words the preview shows."""
        reasons = [str(message) for message in self.errors.values()]
        if self.same_as is not None:
            reasons.append(str(_l("Same person as line %(line)d.", line=self.same_as)))
        if self.registered:
            reasons.append(
                str(_l("Already registered at this workshop (%(status)s).", status=self.registered))
            )
        return reasons

    def to_payload(self) -> dict:
        # by hand: dataclasses.asdict deep-copies every value (a third of a 5,000-row preview)
        return {
            "line": self.line,
            "values": {name: value for name, value in self.values.items() if value},  # "" by default
            "errors": self.errors,
            "warnings": self.warnings,
            "same_as": self.same_as,
            "registered": self.registered,
        }

    @classmethod
    def from_payload(cls, row: dict) -> RowReport:
        report = cls(
            line=row["line"],
            values=row.get("values", {}),
            errors=row.get("errors", {}),
            warnings=row.get("warnings", []),
            same_as=row.get("same_as"),
            registered=row.get("registered", ""),
        )
        if row.get("duplicate") and not report.errors:  # a preview made before same_as
            report.errors = {"duplicate": str(_l("Duplicate: already registered or twice in the file"))}
        return report


@dataclass
class Plan:
    """What an import of a sheet under a mapping would do: a report per person, the lines
    skipped (with why) and what is wrong or worth knowing about the mapping."""

    rows: list[RowReport]
    skipped: list[tuple[int, str]]
    notes: list[str]
    fields: list[str]  # the fields the preview shows: read from a column or given for everyone

    @property
    def accepted(self) -> list[RowReport]:
        return [report for report in self.rows if report.ok]


class _Reader:
    """Reads rows into registrations' fields with contacts' rules."""

    def __init__(self, workshop: Workshop, mapping: Mapping):
        self.workshop = workshop
        self.mapping = mapping
        self.organisation_types = _vocabulary(OrganisationType)
        # An export's labels (不愿透露, Another gender) besides the words people write.
        self.genders = {word: Gender(code) for word, code in _vocabulary(Gender).items()}
        self.read = [(index, name) for index, name in enumerate(mapping.columns) if name in FIELDS]

    def given(self, cells: list[str]) -> dict[str, str]:
        given = {name: (cells[index] if index < len(cells) else "") for index, name in self.read}
        for name, value in self.mapping.constants.items():
            if not contacts.nfkc(given.get(name)):
                given[name] = value
        return given

    def report(self, line: int, given: dict[str, str]) -> tuple[RowReport, registrations.Contact | None]:
        workshop = self.workshop
        warnings: list[str] = []
        errors: dict[str, str] = {}
        text = {name: " ".join(contacts.nfkc(given.get(name)).split()) for name in FIELDS}
        values = {name: text[name] for name in ("latin_name", "organisation", "job_title", "needs")}
        values["place_code"], values["city"] = _place(text["province"], text["city"])
        values["full_name"] = contacts.normalise_name(given.get("full_name"))
        emails = contacts.split_emails(given.get("email"))
        if len(emails) > 1:
            warnings.append(
                str(
                    _l(
                        "Two email addresses in one cell: %(used)s is used, not %(other)s.",
                        used=emails[0],
                        other=", ".join(emails[1:]),
                    )
                )
            )
        values["email"] = emails[0] if emails else ""
        try:
            values["mobile"] = contacts.normalise_mobile(text["mobile"])
        except contacts.InvalidMobile as why:
            values["mobile"] = ""
            warnings.append(
                str(_l("The mobile %(number)s is not used: %(why)s", number=text["mobile"], why=why.args[0]))
            )
        gender = (
            (contacts.gender_from_word(text["gender"]) or self.genders.get(text["gender"].lower()))
            if text["gender"]
            else Gender.UNDISCLOSED
        )
        if gender is None:
            warnings.append(
                str(_l("Gender %(word)s is not one the list knows: left unsaid.", word=text["gender"]))
            )
        values["gender"] = (gender or Gender.UNDISCLOSED).value
        mode = contacts.mode_from_word(text["mode"])
        if text["mode"] and mode is None:
            errors["mode"] = str(
                _l(
                    "%(word)s is not an attendance mode: write 线下 or 现场 (onsite), 线上 or 网络 (online).",
                    word=text["mode"],
                )
            )
        values["mode"] = mode.value if mode else (workshop.modes[0] if len(workshop.modes) == 1 else "")
        organisation_type = self.organisation_types.get(text["organisation_type"].lower())
        if text["organisation_type"] and organisation_type is None:
            warnings.append(
                str(
                    _l(
                        "Type of organisation %(word)s is not one the list knows: saved as other.",
                        word=text["organisation_type"],
                    )
                )
            )
        values["organisation_type"] = organisation_type or OrganisationType.OTHER.value
        values["language"] = _language(text["language"]) or "zh"
        if not values["email"] and not values["mobile"] and not workshop.asks_email_and_mobile:
            errors["email"] = str(
                _l("No email address and no usable mobile number: the ticket cannot be sent.")
            )
        contact = None
        try:
            contact = registrations.check_applicant(
                Applicant.from_mapping(values), workshop, require_consent=False
            )
        except InvalidInput as error:
            for name, message in error.errors.items():
                errors.setdefault(name, str(message))
        if contact is not None and not errors:
            values["email"], values["mobile"] = contact.email, contact.mobile
        return RowReport(line=line, values=values, errors=errors, warnings=warnings), (
            None if errors else contact
        )


def _place(province: str, city: str) -> tuple[str, str]:
    """A row's place: its province and city cells matched together (江苏省 + 常州市, or 江苏常州 in
    one cell) to a division, what a coordinator mapped once included; text that matches nothing
    is kept as written (a row is never refused for its city)."""
    limit = registrations.LIMITS["city"]
    written = " ".join(part for part in (province, city) if part)
    code, text = places.from_text(written)
    if not code and province and city:  # the province column is sure; the city is not listed
        code = places.from_text(province)[0]
        return (code, city[:limit]) if len(code) == 2 else ("", written[:limit])
    return code, text[:limit]


def _registered(workshop: Workshop) -> dict[tuple[str, str], str]:
    """The emails and mobiles of the workshop's active registrations, with their statuses'
    labels (one query for the whole file). Not unconfirmed holds: the import vouches for the
    person, so registering them settles their hold (``registration.register``) and they keep the place."""
    found: dict[tuple[str, str], str] = {}
    for email, mobile, status in db.session.execute(
        select(Registration.email, Registration.mobile, Registration.status).where(
            Registration.workshop_id == workshop.id,
            Registration.active_clause(),
            Registration.status != RegistrationStatus.UNVERIFIED,
        )
    ):
        label = str(RegistrationStatus(status).label)
        if email:
            found[("email", email)] = label
        if mobile:
            found[("mobile", mobile)] = label
    return found


def plan(workshop: Workshop, sheet: Sheet, mapping: Mapping) -> Plan:
    """Decide on every row of the sheet under the mapping (nothing is written)."""
    reader = _Reader(workshop, mapping)
    registered = _registered(workshop)
    seen: dict[tuple[str, str], int] = {}
    rows: list[RowReport] = []
    skipped = list(sheet.skipped)
    for line, cells in sheet.rows:
        given = reader.given(cells)
        if not any(contacts.nfkc(given.get(name)) for name in _PERSON):
            skipped.append((line, "empty"))  # a numbered line of the form, a merged cell's tail
            continue
        report, contact = reader.report(line, given)
        if contact is not None:
            keys = [key for key in (("email", contact.email), ("mobile", contact.mobile)) if key[1]]
            earlier = next((seen[key] for key in keys if key in seen), None)
            status = next((registered[key] for key in keys if key in registered), "")
            if earlier is not None:
                report.same_as = earlier
            elif status:
                report.registered = status
            else:
                seen.update((key, line) for key in keys)
        rows.append(report)
    shown = [name for name in FIELDS if name in mapping.columns or name in mapping.constants]
    return Plan(rows, sorted(skipped), _notes(workshop, mapping), shown)


def _notes(workshop: Workshop, mapping: Mapping) -> list[str]:
    notes = []
    if "full_name" not in mapping.columns:
        notes.append(str(_l("No column is read as the name: choose the name column below.")))
    if "email" not in mapping.columns and "mobile" not in mapping.columns:
        notes.append(str(_l("No column is read as the email or the mobile: choose at least one below.")))
    if len(workshop.modes) > 1 and "mode" not in mapping.columns and "mode" not in mapping.constants:
        notes.append(
            str(
                _l(
                    "This workshop is onsite and online and the file says nothing of it: choose the column"
                    " with the attendance mode, or a mode for everyone."
                )
            )
        )
    if workshop.approval_required:
        notes.append(str(_l("This workshop needs approval: the people imported will be waiting for it.")))
    return notes


def notify_by_default(workshop: Workshop, now: datetime | None = None) -> bool:
    """Tell the people imported (email or text) unless the workshop has ended."""
    return workshop.ends_at > (now or utcnow())


def _check_importable(workshop: Workshop) -> None:
    if workshop.status == WorkshopStatus.CANCELLED:
        raise NotAllowed(_l("This workshop has been cancelled; registration is closed."))


# ---- the page: preview, mapping, confirmation, the background run ----


# The file itself is kept beside its preview (a JobFile, not in the payload the page loads),
# to be read again under another mapping; it goes once the import is confirmed.
UPLOAD = "nominations-upload"
SAMPLES = 3  # values of each column the mapping step shows


def _samples(sheet: Sheet) -> list[list[str]]:
    samples: list[list[str]] = [[] for _header in sheet.headers]
    for _line, cells in sheet.rows:
        for index, cell in enumerate(cells[: len(samples)]):
            text = cell.strip()
            if text and len(samples[index]) < SAMPLES and text not in samples[index]:
                samples[index].append(text)
        if all(len(values) == SAMPLES for values in samples):
            break
    return samples


def _store(job: Job, sheet: Sheet, mapping: Mapping, decided: Plan) -> None:
    job.total = len(decided.accepted)
    job.payload = {
        **(job.payload or {}),
        "header_line": sheet.header_line,
        "headers": sheet.headers,
        "samples": _samples(sheet),
        "columns": mapping.columns,
        "constants": mapping.constants,
        "fields": decided.fields,
        "notes": decided.notes,
        "skipped": [list(item) for item in decided.skipped],
        "rows": [report.to_payload() for report in decided.rows],
    }


def preview_import(workshop: Workshop, filename: str, data: bytes, actor) -> Job:
    """Read the file, map its columns, check every row and keep the result as a job in
    'preview'. Nothing is registered yet."""
    _check_importable(workshop)
    sheet = read_sheet(filename, data)
    mapping = suggest_mapping(workshop, sheet.headers)
    decided = plan(workshop, sheet, mapping)
    job = Job(
        kind=JobKind.IMPORT,
        status=JobStatus.PREVIEW,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        payload={"filename": filename, "notify": notify_by_default(workshop)},
    )
    _store(job, sheet, mapping, decided)
    db.session.add(job)
    db.session.flush()
    db.session.add(JobFile(job_id=job.id, name=UPLOAD, content_type="application/octet-stream", data=data))
    audit.record("registration.import_preview", workshop, actor, filename=filename, rows=len(decided.rows))
    db.session.commit()
    return job


def stored_mapping(job: Job) -> Mapping:
    return Mapping(list(job.payload["columns"]), dict(job.payload.get("constants", {})))


def _upload(job: Job) -> JobFile | None:
    return db.session.scalar(select(JobFile).where(JobFile.job_id == job.id, JobFile.name == UPLOAD))


def remap_preview(job: Job, columns: list[str], constants: dict[str, str], actor) -> Job:
    """Decide on every row again with the coordinator's mapping (a field or "" for each column
    of the file; values for everyone): the file kept with the preview is read again."""
    if job.kind != JobKind.IMPORT or job.status != JobStatus.PREVIEW:
        raise NotAllowed(_l("This import has already been confirmed."))
    workshop = db.session.get(Workshop, job.workshop_id)
    upload = _upload(job)
    if workshop is None or upload is None:
        raise NotAllowed(_l("Upload the file again to change how it is read."))
    sheet = read_sheet(job.payload.get("filename", ""), upload.data)
    mapping = mapping_from_choices(workshop, sheet.headers, columns, constants)
    _store(job, sheet, mapping, plan(workshop, sheet, mapping))
    db.session.commit()
    return job


def row_reports(job: Job) -> list[RowReport]:
    return [RowReport.from_payload(row) for row in job.payload.get("rows", [])]


def _remember(workshop: Workshop, headers: list[str], mapping: Mapping) -> None:
    """Keep the mapping for the programme's (or the workshop's) next file: the choices for
    these headers join those remembered for others; the values for everyone are replaced."""
    remembered = remembered_mapping(workshop)
    if remembered is None:
        remembered = ImportMapping(
            programme_id=workshop.programme_id,
            workshop_id=None if workshop.programme_id is not None else workshop.id,
            columns={},
        )
        db.session.add(remembered)
    chosen = dict(remembered.columns or {})
    chosen.update(
        {header_key(h): name for h, name in zip(headers, mapping.columns, strict=False) if header_key(h)}
    )
    remembered.columns = chosen
    remembered.constants = dict(mapping.constants)


def confirm_import(job: Job, actor, notify: bool | None = None) -> Job:
    """Queue the accepted rows for registration in the background; ``notify``: whether the
    people are told (by default, unless the workshop has ended). The mapping is remembered and
    the uploaded file is let go."""
    if job.kind == JobKind.IMPORT and job.status == JobStatus.PREVIEW:
        workshop = db.session.get(Workshop, job.workshop_id)
        if notify is None:
            notify = notify_by_default(workshop) if workshop is not None else True
        if workshop is not None and "columns" in job.payload:
            _remember(workshop, job.payload["headers"], stored_mapping(job))
        job.payload = {**job.payload, "notify": notify}
        db.session.execute(delete(JobFile).where(JobFile.job_id == job.id, JobFile.name == UPLOAD))
    return jobs.confirm_preview(job, JobKind.IMPORT, "registration.import_confirm", actor)


def _register(workshop_id: int, report: RowReport, notify: bool) -> tuple[bool, str]:
    """Register one accepted row; (registered, why not)."""
    try:
        result = registrations.register(
            workshop_id,
            Applicant.from_mapping(report.values),
            source=RegistrationSource.IMPORT,
            notify=notify,
        )
    except ServiceError as error:
        return False, str(error.message)
    if result.outcome == registrations.Outcome.ALREADY_REGISTERED:
        status = str(result.registration.status.label)
        return False, str(_l("Already registered at this workshop (%(status)s).", status=status))
    return True, ""


def run_import(job_id: int) -> None:
    """Register each previewed row (one transaction per person); progress is kept on the job."""
    runner = jobs.claim(job_id)
    if runner is None:  # done, or another run holds it
        return
    job = db.session.get(Job, job_id, populate_existing=True)
    workshop_id = job.workshop_id if job is not None else None
    if job is None or workshop_id is None:  # deleted with its workshop since it was claimed
        return
    notify = bool(job.payload.get("notify", True))
    created = skipped = 0
    start = job.done  # resumes after a worker restart
    for report in [r for r in row_reports(job) if r.ok][start:]:
        if not jobs.still_mine(job_id, runner):
            db.session.rollback()
            return
        db.session.commit()
        registered, _why = _register(workshop_id, report, notify)
        created += registered
        skipped += not registered
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


# ---- the command line: the same reading and decisions, at once ----


@dataclass
class ImportReport:
    """What an import did (or, dry, would do), as ``flask registrations import --json`` prints it."""

    created: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    skipped_why: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "refused": self.refused,
            "warnings": self.warnings,
            "skipped": self.skipped,
        }


CREATED_FIELDS = ("full_name", "email", "mobile", "organisation", "mode", "gender")


def import_file(
    workshop: Workshop,
    filename: str,
    data: bytes,
    columns: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    notify: bool | None = None,
    dry_run: bool = False,
    actor=None,
) -> ImportReport:
    """Import a file at once: read and decide as the preview does (``columns``, ``constants``:
    choices over the suggested mapping), then, unless ``dry_run``, register every accepted row
    and remember the mapping. A dry run decides the same and writes nothing."""
    _check_importable(workshop)
    sheet = read_sheet(filename, data)
    mapping = override_mapping(
        workshop, sheet, suggest_mapping(workshop, sheet.headers), columns or {}, constants or {}
    )
    decided = plan(workshop, sheet, mapping)
    report = ImportReport(
        skipped=[line for line, _why in decided.skipped], skipped_why=decided.skipped, notes=decided.notes
    )
    for row in decided.rows:
        report.warnings += [{"line": row.line, "message": message} for message in row.warnings]
    if notify is None:
        notify = notify_by_default(workshop)
    if not dry_run:
        _remember(workshop, sheet.headers, mapping)
        audit.record(
            "registration.import", workshop, actor, filename=filename, rows=len(decided.rows), notify=notify
        )
        db.session.commit()
    for row in decided.rows:
        reasons = row.reasons
        if row.ok and not dry_run:
            registered, why = _register(workshop.id, row, notify)
            reasons = [] if registered else [why]
        if reasons:
            report.refused.append({"line": row.line, "reason": " ".join(reasons)})
        else:
            report.created.append(
                {"line": row.line} | {name: row.values.get(name, "") for name in CREATED_FIELDS}
            )
    if dry_run:
        db.session.rollback()
    return report


# ---- what the preview page shows ----


@dataclass
class PreviewColumn:
    """A column of the file on the preview: its letter, its header, the field it is read
    into ("" for none) and a few of its values."""

    index: int
    letter: str
    header: str
    field: str
    samples: list[str]


def preview_columns(job: Job) -> list[PreviewColumn]:
    """Every column of a previewed file ([] for a preview made before mappings could change)."""
    payload = job.payload
    if "columns" not in payload:
        return []
    samples = payload.get("samples") or [[] for _header in payload["headers"]]
    return [
        PreviewColumn(index, column_letter(index), header, payload["columns"][index], samples[index])
        for index, header in enumerate(payload["headers"])
    ]


_VALUE_ENUMS = {
    "mode": AttendanceMode,
    "gender": Gender,
    "organisation_type": OrganisationType,
}


def value_label(name: str, value: str, values: dict | None = None) -> str:
    """A field's value as the preview shows it (a code by its label, in the reader's language;
    the province and city as the division they were matched to)."""
    code = (values or {}).get("place_code", "")
    if name in ("province", "city") and code:
        language = current_language()
        if name == "province":
            return places.label(code[:2], language)
        return places.label(code, language) if len(code) == 4 else value
    if name in _VALUE_ENUMS and value:
        try:
            return str(_VALUE_ENUMS[name](value).label)
        except ValueError:
            return value
    if name == "language" and value:
        return {"zh": "中文", "en": "English"}.get(value, value)
    return value


def constant_choices(workshop: Workshop) -> dict[str, list[tuple[str, str]]]:
    """The values for everyone the preview offers, by field ("" for none)."""
    return {
        "mode": [(mode, str(AttendanceMode(mode).label)) for mode in workshop.modes],
        "organisation_type": [(code, str(label)) for code, label in OrganisationType.choices()],
        "language": [("zh", "中文"), ("en", "English")],
    }
