"""A download too long for the request: its link offers it, and a button makes it."""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect, render_template, request, url_for

from ..models import Job


def made_in_background(what, queue: Callable[[], Job]):
    """A GET (the download's link) writes nothing and shows a button; its POST (CSRF-checked)
    queues the job and opens its page. A link followed from another site (or a prefetch) so
    queues no job and replaces none of the asker's files."""
    if request.method != "POST":
        return render_template("staff/make_download.html", what=what)
    job = queue()
    return redirect(url_for("staff.job", job_id=job.id))
