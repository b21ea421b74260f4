"""Name badges: an A4 sheet (8 a page) for onsite participants, QR ticket on each."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from ..extensions import db
from ..models import AttendanceMode, Registration, RegistrationStatus, Workshop
from . import audit, pdf, tickets


def name_size(name: str) -> str:
    """A size class so long names fit the badge (at most two lines; longer ones are cut)."""
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)  # a CJK character is twice as wide
    return "xl" if width <= 12 else "l" if width <= 20 else "m" if width <= 30 else "s"


def badge_sheet(workshop: Workshop, actor) -> bytes:
    """Badges of the confirmed onsite participants, in name order, as one PDF."""
    people = db.session.scalars(
        select(Registration)
        .where(
            Registration.workshop_id == workshop.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.mode == AttendanceMode.ONSITE,
        )
        .order_by(Registration.full_name)
    ).all()
    badges = [
        {
            "name": p.full_name,
            "latin": p.latin_name,
            "organisation": p.organisation,
            "size": name_size(p.full_name),
            "qr": pdf.png_data_uri(tickets.ticket_qr_png(p.ticket_token, box_size=4)),
        }
        for p in people
    ]
    html = render_template("staff/badges.html", workshop=workshop, badges=badges)
    audit.record("workshop.badges", workshop, actor, count=len(badges))
    db.session.commit()
    return pdf.render_pdf(html)
