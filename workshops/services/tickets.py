"""Ticket QR codes: they carry only the opaque ticket token, never personal data."""
from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def ticket_qr_png(ticket_token: str, box_size: int = 8) -> bytes:
    """A PNG QR code of the ticket token (or any short text, e.g. a poster's link)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(ticket_token)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()
