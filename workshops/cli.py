"""Operator commands: ``flask users ...``, ``flask seed-demo``, ``flask translate ...``,
``flask attendance import ...``."""

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
from sqlalchemy import select

from .demo import load_demo
from .extensions import db
from .models import OutboxMessage, OutboxStatus, Role, Session, User
from .services import backups, meeting_reports, outbox, privacy
from .services import users as user_service
from .services.errors import InvalidInput

users_cli = AppGroup("users", help="Manage staff accounts.")
outbox_cli = AppGroup("outbox", help="Inspect and deliver queued emails.")
translate_cli = AppGroup("translate", help="Extract, update and compile the translation catalogues.")
TRANSLATIONS = Path(__file__).parent / "translations"
ROOT = Path(__file__).parent.parent


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="")
@click.password_option(help="Prompted for (twice) when not given.")
def create_user(email, role, name, password):
    """Create a staff account."""
    try:
        user = user_service.create_user(email, role, password, name=name)
    except InvalidInput as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role.value} {user.email}")


@users_cli.command("list")
def list_users():
    """List staff accounts."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{user.role.value}\t{'active' if user.active else 'disabled'}")


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
    app.cli.add_command(attendance_cli)
    app.cli.add_command(seed_demo)
