"""Logos and signatories on certificates: a workshop's own, or its programme's for all its workshops."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Certificate, CertificateAsset, Workshop
from . import audit
from .errors import InvalidInput

# Recognised by their first bytes, not by the name or type the browser gives.
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_IMAGE_BYTES = 1024 * 1024


@dataclass
class NewAsset:
    """A logo or a signatory as staff give it on the certificates page."""

    kind: str  # "logo" or "signatory"
    image: bytes | None = None
    for_programme: bool = False
    name_en: str = ""
    name_zh: str = ""
    title_en: str = ""
    title_zh: str = ""


def image_type(data: bytes | None) -> str | None:
    """The content type of a PNG or JPEG image, else None."""
    return next((kind for magic, kind in IMAGE_TYPES.items() if data and data.startswith(magic)), None)


def add_asset(workshop: Workshop, new: NewAsset, actor) -> CertificateAsset:
    """Add a logo or a signatory to the workshop's certificates (or its programme's, if asked).

    An image must be a PNG or JPEG under 1 MB; a logo needs one, a signatory a name.
    Certificates already issued are rendered again, with the new look.
    """
    content_type = image_type(new.image)
    if new.image and (content_type is None or len(new.image) > MAX_IMAGE_BYTES):
        raise InvalidInput({"image": _l("Upload a PNG or JPEG image under 1 MB.")})
    if new.kind == "logo" and not new.image:
        raise InvalidInput({"image": _l("A logo needs an image.")})
    if new.kind == "signatory" and not (new.name_en or new.name_zh):
        raise InvalidInput({"name_en": _l("Give the signatory's name.")})
    owner = (
        {"programme_id": workshop.programme_id}
        if new.for_programme and workshop.programme_id
        else {"workshop_id": workshop.id}
    )
    asset = CertificateAsset(
        kind=new.kind,
        image=new.image,
        content_type=content_type or "image/png",
        name_en=new.name_en,
        name_zh=new.name_zh,
        title_en=new.title_en,
        title_zh=new.title_zh,
        **owner,
    )
    db.session.add(asset)
    db.session.flush()
    audit.record("certificate.asset_add", asset, actor, kind=asset.kind)
    # The kept PDFs were rendered with the old look: they are rendered again when next asked for.
    db.session.execute(Certificate.__table__.update().values(pdf=None))
    db.session.commit()
    return asset


def assets_of(workshop: Workshop) -> list[CertificateAsset]:
    """The logos and signatories a workshop's certificates may show: its own and its programme's.

    A workshop without a programme has only its own (``programme_id = NULL`` would be every
    other workshop's own assets).
    """
    owners = CertificateAsset.workshop_id == workshop.id
    if workshop.programme_id is not None:
        owners = owners | (CertificateAsset.programme_id == workshop.programme_id)
    return list(
        db.session.scalars(
            select(CertificateAsset).where(owners).order_by(CertificateAsset.position, CertificateAsset.id)
        )
    )
