"""Logos and signatories on certificates: the programme's (on all its workshops' certificates)
and the workshop's own, in that order.

A change re-renders only the certificates that show it, in the background: the certificates
services listen to ``assets_changed`` (they depend on this module, not the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import CertificateAsset, Job, Workshop
from . import audit, jobs
from .errors import InvalidInput

# Recognised by their first bytes, not by the name or type the browser gives.
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_IMAGE_BYTES = 1024 * 1024
# Sent in the transaction of a change with ``workshop_ids`` (the workshops whose certificates show
# the asset) and ``actor``; a receiver returns the jobs it queued, handed out after the commit.
assets_changed = Namespace().signal("certificate-assets-changed")


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
    position: int = 0


def image_type(data: bytes | None) -> str | None:
    """The content type of a PNG or JPEG image, else None."""
    return next((kind for magic, kind in IMAGE_TYPES.items() if data and data.startswith(magic)), None)


def add_asset(workshop: Workshop, new: NewAsset, actor) -> CertificateAsset:
    """Add a logo or a signatory to the workshop's certificates (or its programme's, if asked).

    An image must be a PNG or JPEG under 1 MB; a logo needs one, a signatory a name.
    The certificates that show it (the workshop's, or every workshop's of the programme) are
    rendered again in the background; no other certificate is touched.
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
        position=new.position,
        **owner,
    )
    db.session.add(asset)
    db.session.flush()
    audit.record("certificate.asset_add", asset, actor, kind=asset.kind)
    _changed(asset, actor)
    return asset


def asset_of(workshop: Workshop, asset_id: int) -> CertificateAsset | None:
    """One of the logos or signatories the workshop's certificates show, else None (another
    workshop's, or another programme's: not for this workshop's staff page to change)."""
    asset = db.session.get(CertificateAsset, asset_id)
    if asset is None or asset not in assets_of(workshop):
        return None
    return asset


def remove_asset(asset: CertificateAsset, actor) -> None:
    """Take a logo or signatory off the certificates that show it (they are rendered again)."""
    audit.record(
        "certificate.asset_remove", asset, actor, kind=asset.kind, name=asset.name_en or asset.name_zh
    )
    workshops = _shown_on(asset)
    db.session.delete(asset)
    db.session.flush()
    _changed(asset, actor, workshops)


def _shown_on(asset: CertificateAsset) -> list[int]:
    """The workshops whose certificates show the asset."""
    if asset.workshop_id is not None:
        return [asset.workshop_id]
    return list(db.session.scalars(select(Workshop.id).where(Workshop.programme_id == asset.programme_id)))


def _changed(asset: CertificateAsset, actor, workshops: list[int] | None = None) -> None:
    """Commit the change with the affected certificates marked stale, then hand out their re-rendering."""
    queued: list[Job] = [
        job
        for _receiver, made in assets_changed.send(
            asset, workshop_ids=workshops or _shown_on(asset), actor=actor
        )
        for job in made or []
    ]
    db.session.commit()
    for job in queued:
        jobs.dispatch(job)


def assets_of(workshop: Workshop) -> list[CertificateAsset]:
    """The logos and signatories a workshop's certificates show: its programme's first, then its own,
    each in their order.

    A workshop without a programme has only its own (``programme_id = NULL`` would be every
    other workshop's own assets).
    """
    owners = CertificateAsset.workshop_id == workshop.id
    if workshop.programme_id is not None:
        owners = owners | (CertificateAsset.programme_id == workshop.programme_id)
    return list(
        db.session.scalars(
            select(CertificateAsset)
            .where(owners)
            .order_by(
                CertificateAsset.workshop_id.is_not(None),  # the programme's (False) first
                CertificateAsset.position,
                CertificateAsset.id,
            )
        )
    )
