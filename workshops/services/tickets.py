"""Ticket QR codes: they carry only the opaque ticket token, never personal data."""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M


def ticket_qr_png(ticket_token: str, box_size: int = 8) -> bytes:
    """A PNG QR code of the ticket token (or any short text, e.g. a poster's link)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(ticket_token)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_matrix_png(text: str) -> bytes:
    """A QR code as a small black-and-white PNG for PDFs.

    A fixed mask pattern skips qrcode's trial of all eight masks, the slow part;
    any mask gives a valid code.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2, mask_pattern=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    image = Image.new("1", (len(matrix), len(matrix)))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    # 8 pixels a module: viewers and printers that smooth images still keep sharp edges.
    image = image.resize((len(matrix) * 8, len(matrix) * 8), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
