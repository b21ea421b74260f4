"""Operator commands: ``flask users ...``, ``flask registrations import``, ``flask attendance
import``, ``flask seed-demo``, ``flask translate ...``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from .demo import load_demo
from .extensions import db
from .models import OutboxMessage, OutboxStatus, Programme, Role, Session, User, Workshop
from .services import backups, meeting_reports, nominations, outbox, privacy, spreadsheets
from .services import users as user_service
from .services.errors import InvalidInput, ServiceError

users_cli = AppGroup("users", help="Manage staff accounts.")
outbox_cli = AppGroup("outbox", help="Inspect and deliver queued emails.")
translate_cli = AppGroup("translate", help="Extract, update and compile the translation catalogues.")
registrations_cli = AppGroup("registrations", help="Registrations in bulk: import a nominations list.")
TRANSLATIONS = Path(__file__).parent / "translations"
ROOT = Path(__file__).parent.parent


def _programmes(codes: tuple[str, ...]) -> list[Programme]:
    """The programmes with these codes (case does not matter); an unknown code is refused."""
    found = []
    for code in codes:
        programme = db.session.scalar(select(Programme).where(Programme.code == code.strip().upper()))
        if programme is None:
            raise click.ClickException(_("No programme has the code %(code)s.", code=code))
        found.append(programme)
    return found


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="")
@click.option(
    "--programme",
    "programmes",
    multiple=True,
    metavar="CODE",
    help="Limit a coordinator or report reader to this programme (repeat for more; none: every one).",
)
@click.password_option(help="Prompted for (twice) when not given.")
def create_user(email, role, name, programmes, password):
    """Create a staff account."""
    try:
        user = user_service.create_user(email, role, password, name=name, programmes=_programmes(programmes))
    except InvalidInput as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role.value} {user.email}")


@users_cli.command("list")
def list_users():
    """List staff accounts (with the programmes a limited one sees)."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        limits = ",".join(sorted(p.code for p in user.programmes))
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{user.role.value}\t{state}" + (f"\t{limits}" if limits else ""))


@users_cli.command("limit")
@click.argument("email")
@click.option(
    "--programme", "programmes", multiple=True, metavar="CODE", help="Repeat for more; none: every one."
)
def limit_user(email, programmes):
    """Limit a coordinator or report reader to programmes (none given: every programme)."""
    user = _account(email)
    try:
        user_service.set_programme_limits(user, _programmes(programmes), None)
    except InvalidInput as error:
        raise click.ClickException(str(error)) from None
    shown = ", ".join(sorted(p.code for p in user.programmes)) or _("every programme")
    click.echo(_("%(email)s sees: %(programmes)s", email=user.email, programmes=shown))


def _account(email: str) -> User:
    user = user_service.find_user(email)
    if user is None:
        raise click.ClickException(_("No staff account has the email %(email)s.", email=email))
    return user


@users_cli.command("disable")
@click.argument("email")
def disable_user(email):
    """Disable a staff account: it cannot sign in, and every session it has ends now."""
    user = _account(email)
    user_service.set_disabled(user, True)
    click.echo(_("%(email)s is disabled and signed out everywhere.", email=user.email))


@users_cli.command("enable")
@click.argument("email")
def enable_user(email):
    """Let a disabled staff account sign in again."""
    user = _account(email)
    user_service.set_disabled(user, False)
    click.echo(_("%(email)s can sign in again.", email=user.email))


def _pairs(values: tuple[str, ...], last: bool) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; split at the last ``=`` for --map (a header may hold
    one), at the first for --set (a value may)."""
    pairs = {}
    for value in values:
        key, sep, rest = value.rpartition("=") if last else value.partition("=")
        if not sep:
            raise click.BadParameter(_("Write it as NAME=VALUE: %(value)s", value=value))
        pairs[key.strip()] = rest.strip()
    return pairs


@registrations_cli.command("import")
@click.argument("workshop_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Read a column (its header, letter or number) into a field; COLUMN=- leaves it out.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A value for every row that gives none: mode, organisation_type, language or organisation.",
)
@click.option(
    "--notify/--no-notify",
    default=None,
    help="Tell the people imported (default: unless the workshop has ended).",
)
@click.option("--dry-run", is_flag=True, help="Decide exactly as a real run would, and save nothing.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object: created, refused, warnings, skipped."
)
def registrations_import(workshop_id, file, maps, sets, notify, dry_run, as_json):
    """Import a nominations list (XLSX or CSV) into a workshop at once, as the import page does."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        raise click.ClickException(_("No workshop has the id %(id)d.", id=workshop_id))
    with file.open("rb") as handle:  # one byte over the limit is enough to refuse it
        data = handle.read(spreadsheets.max_upload_bytes() + 1)
    try:
        report = nominations.import_file(
            workshop,
            file.name,
            data,
            columns=_pairs(maps, last=True),
            constants=_pairs(sets, last=False),
            notify=notify,
            dry_run=dry_run,
        )
    except ServiceError as error:
        raise click.ClickException(str(error.message)) from None
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    for note in report.notes:
        click.echo(note)
    for line, why in report.skipped_why:
        click.echo(_("Line %(line)d: skipped, %(why)s", line=line, why=nominations.SKIP_REASONS[why]))
    for warning in report.warnings:
        click.echo(_("Line %(line)d: warning: %(message)s", line=warning["line"], message=warning["message"]))
    for refusal in report.refused:
        click.echo(_("Line %(line)d: refused: %(reason)s", line=refusal["line"], reason=refusal["reason"]))
    counts = dict(
        created=len(report.created),
        refused=len(report.refused),
        warnings=len(report.warnings),
        skipped=len(report.skipped),
    )
    if dry_run:
        click.echo(
            _(
                "Dry run, nothing saved: %(created)d would be registered, %(refused)d refused,"
                " %(warnings)d warnings, %(skipped)d lines skipped.",
                **counts,
            )
        )
    else:
        click.echo(
            _(
                "%(created)d registered, %(refused)d refused, %(warnings)d warnings,"
                " %(skipped)d lines skipped.",
                **counts,
            )
        )


@click.command("seed-demo")
def seed_demo():
    """Load demo data (programme, three real events, participants, staff) into an empty database."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("Refusing to load demo data with APP_ENV=production.")
    logins = load_demo()
    if logins is None:
        click.echo("The database already has workshops; demo data not loaded.")
        return
    click.echo("Demo data loaded. Staff sign-in at /login:")
    for email, role, password in logins:
        click.echo(f"  {role:<12} {email:<28} password: {password}")


@outbox_cli.command("send")
def outbox_send():
    """Deliver every email that is due now (the worker does this every 10 s)."""
    result = outbox.deliver_due(limit=10_000)
    click.echo(f"sent {result['sent']}, failed {result['failed']}")


@outbox_cli.command("status")
def outbox_status():
    """Count queued, sent and failed emails, and show the latest failures."""
    for status, count in outbox.status_counts().items():
        click.echo(f"{status:<8} {count}")
    failing = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.last_error != "", OutboxMessage.status != OutboxStatus.SENT)
        .order_by(OutboxMessage.id.desc())
        .limit(5)
    )
    for message in failing:
        click.echo(
            f"  #{message.id} to {message.recipient}, {message.attempts} attempts: {message.last_error}"
        )


@outbox_cli.command("retry-failed")
def outbox_retry_failed():
    """Queue failed emails again (after fixing the mail settings)."""
    click.echo(f"{outbox.retry_failed()} messages queued again")


privacy_cli = AppGroup("privacy", help="Personal data of past workshops.")


@privacy_cli.command("anonymise")
@click.option(
    "--ended-before",
    "ended_before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Anonymise registrations of workshops that ended before this date (YYYY-MM-DD, UTC).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_anonymise(ended_before, yes):
    """Replace names, contacts and free text of old workshops; keep the programme's figures."""

    moment = ended_before.replace(tzinfo=UTC)
    if not yes:
        click.confirm(
            f"Anonymise every registration of workshops that ended before {moment:%Y-%m-%d}?", abort=True
        )
    click.echo(f"{privacy.anonymise_ended_before(moment)} registrations anonymised")


backup_cli = AppGroup("backup", help="Back up and restore the database.")


@backup_cli.command("create")
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Default: instance/backup-<time>.(sqlite|dump)"
)
def backup_create(output):
    """Write a consistent copy of the database (the app may keep running)."""
    if not output:
        suffix = "sqlite" if db.engine.url.get_backend_name() == "sqlite" else "dump"
        output = Path(current_app.instance_path) / f"backup-{datetime.now():%Y%m%d-%H%M%S}.{suffix}"
    try:
        click.echo(f"Backup written to {backups.create(Path(output))}")
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None


@backup_cli.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def backup_restore(source, yes):
    """Replace the database with a backup. Stop the app servers and workers first."""
    if not yes:
        click.confirm("This replaces every row in the database. Continue?", abort=True)
    try:
        backups.restore(Path(source))
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo("Restored.")


def _pybabel(*args: str) -> None:
    # The pybabel of this interpreter's environment, even when .venv is not activated.
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), *args], check=True, cwd=ROOT)


@translate_cli.command("update")
def translate_update():
    """Extract every marked string and merge it into the catalogues."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = f"{tmp}/messages.pot"
        _pybabel(
            "extract", "-F", "workshops/translations/babel.cfg", "-k", "_l", "--no-location", "-o", pot, "."
        )
        _pybabel("update", "-i", pot, "-d", str(TRANSLATIONS), "--no-wrap", "--ignore-obsolete")


@translate_cli.command("compile")
def translate_compile():
    """Compile the catalogues (.po -> .mo)."""
    _pybabel("compile", "-d", str(TRANSLATIONS))


attendance_cli = AppGroup("attendance", help="Online attendance from meeting platforms' reports.")


@attendance_cli.command("import")
@click.argument("session_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--min-minutes",
    type=click.IntRange(0, 1440),
    default=meeting_reports.DEFAULT_MIN_MINUTES,
    show_default=True,
    help="Count people who stayed at least this long.",
)
@click.option("--dry-run", is_flag=True, help="Decide as an import would, and save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="FIELD=HEADER",
    help="For a layout that is not recognised: which column is name, email, phone, join, leave or duration.",
)
def attendance_import(session_id, file, min_minutes, dry_run, as_json, columns):
    """Record who attended SESSION_ID from a meeting report FILE (Zoom, Tencent Meeting, Feishu...)."""
    session = db.session.get(Session, session_id)
    if session is None:
        raise click.ClickException(f"No session {session_id}.")
    path = Path(file)
    mapping = None
    if columns:
        mapping = {}
        for column in columns:
            name, _, header = column.partition("=")
            mapping[name.strip().lower()] = header.strip()
    try:
        data = path.read_bytes()
        payload = meeting_reports.analyse(session, path.name, data, min_minutes, mapping)
        if payload["needs_mapping"]:
            header = ", ".join(c for c in payload["columns"] if c)
            raise click.ClickException(
                "This layout is not recognised. Name its columns with --column FIELD=HEADER"
                f" (fields: name, email, phone, join, leave, duration); its header is: {header}"
            )
        if not dry_run:
            job = meeting_reports.preview_report(
                session.workshop, session, path.name, data, min_minutes, None, mapping
            )
            payload = job.payload
    except InvalidInput as error:
        raise click.ClickException(str(error.message)) from None
    recorded = already = 0
    if not dry_run:
        job = meeting_reports.import_now(job, None)
        recorded, already = job.result.get("recorded", 0), job.result.get("already", 0)
    if as_json:
        click.echo(json.dumps(meeting_reports.as_json(payload), ensure_ascii=False))
        return
    decision = meeting_reports.as_json(payload)
    for person in decision["counted"]:
        click.echo(f"counted\t{person['minutes']}\t{person['full_name']}\t{person['matched_by']}")
    for person in decision["too_short"]:
        click.echo(f"too short\t{person['minutes']}\t{person['full_name']}")
    for row in decision["unmatched"]:
        click.echo(f"unmatched\t{row['minutes']}\t{row['name']}\tlines {','.join(map(str, row['lines']))}")
    for warning in decision["warnings"]:
        click.echo(f"warning: {warning}")
    if dry_run:
        click.echo(f"dry run: {len(decision['counted'])} counted, nothing saved")
    else:
        click.echo(f"{recorded} recorded, {already} already recorded")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(translate_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(registrations_cli)
    app.cli.add_command(attendance_cli)
    app.cli.add_command(seed_demo)
