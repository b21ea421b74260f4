"""Backups of the database: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ..extensions import db


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why."""


def _libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create(output: Path) -> Path:
    """Write a consistent copy of the database to ``output`` while the app keeps running."""
    url = make_url(db.engine.url)
    output = Path(output)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database or ":memory:") as source, sqlite3.connect(output) as target:
            source.backup(target)
    elif url.get_backend_name() == "postgresql":
        run = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={output}", _libpq(url)],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            raise BackupError(run.stderr.strip() or "pg_dump failed")
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()}")
    return output


def restore(source: Path) -> None:
    """Replace the database's contents with a backup made by ``create``. Stop the app servers first."""
    url = make_url(db.engine.url)
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup, sqlite3.connect(url.database or ":memory:") as target:
            backup.backup(target)
    elif url.get_backend_name() == "postgresql":
        run = subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_libpq(url)}", str(source)],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            raise BackupError(run.stderr.strip() or "pg_restore failed")
    else:
        raise BackupError(f"no restore method for {url.get_backend_name()}")
