"""PDF rendering with WeasyPrint: fonts from static/, nothing fetched from the network.

WeasyPrint (with Pango, HarfBuzz and fontTools) is imported by the first PDF a process makes,
not when the services are imported: it is about 25 MB of every process's memory, and most
processes (a worker sending emails, the command line, a server at the door) never make one.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale, gettext
from markupsafe import Markup, escape

from ..i18n import CATALOGUES

if TYPE_CHECKING:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

FONT = "fonts/wqy-microhei/wqy-microhei.ttc"


class BlockedURL(ValueError):
    """A template asked for something outside static/ or a data: URI."""


def _static_root() -> Path:
    if current_app.static_folder is None:  # create_app always sets one
        raise RuntimeError("the app has no static folder to take fonts and images from")
    return Path(current_app.static_folder).resolve()


def _check_local(url: str, static_root: Path) -> str:
    """The URL to fetch: a data: URI as it is, or a file under static/ as the file it really is.

    The path is decoded first and then resolved (``..``, symlinks), and only that is checked and
    fetched, so ``..%2F``, ``%2e%2e/`` or a symlink cannot lead out of static/ (checked before
    decoding, ``file:///static/..%2F..%2Fetc/passwd`` looked like a file under static/)."""
    if url.startswith("data:"):
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise BlockedURL(f"blocked: {url[:100]}")
    path = unquote(parts.path)
    # What is still encoded after one decoding was encoded twice; a backslash is a Windows path's
    # separator: no file of ours is named with either.
    if any(char in path for char in "%\\\x00") or not path.startswith("/"):
        raise BlockedURL(f"blocked: {url[:100]}")
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(static_root):
        raise BlockedURL(f"blocked: {url[:100]}")
    return resolved.as_uri()


@lru_cache(maxsize=1)
def _bundled_fontconfig_file(static_root: str) -> str:
    """A fontconfig file that knows static/fonts alone (with a cache of its own, removed at exit)."""
    folder = tempfile.mkdtemp(prefix="workshops-fontconfig-")
    atexit.register(shutil.rmtree, folder, True)
    config = Path(folder) / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{Path(static_root) / 'fonts'}</dir>"
        f"<cachedir>{folder}/cache</cachedir></fontconfig>\n"
    )
    return str(config)


@contextmanager
def _only_bundled_fonts(static_root: str):
    """While WeasyPrint's font configuration is made, let fontconfig know static/fonts alone.

    A character the bundled font lacks (an emoji or Arabic in an answer) is then drawn as the
    font's empty box, and a PDF never carries whatever system font a machine happens to have
    (DejaVu Sans, measured): the same fonts, the same look, on every server. FontConfiguration
    reads FONTCONFIG_FILE once, when made, so the variable is put back at once: nothing else
    of the process (or a program it starts) is changed. An operator's own FONTCONFIG_FILE wins."""
    if "FONTCONFIG_FILE" in os.environ:
        yield
        return
    os.environ["FONTCONFIG_FILE"] = _bundled_fontconfig_file(static_root)
    try:
        yield
    finally:
        del os.environ["FONTCONFIG_FILE"]


@lru_cache(maxsize=1)
def _local_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher  # the first PDF (see the module's docstring)

    class LocalFetcher(URLFetcher):
        """Only data: URIs and files under static/ — a PDF never reaches the network."""

        def __init__(self, static_root: Path):
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
            self.static_root = static_root

        def fetch(self, url, headers=None):
            return super().fetch(_check_local(url, self.static_root), headers)

    return LocalFetcher


def _fetcher(static_root: Path) -> Any:
    return _local_fetcher_class()(static_root)


def local_fetcher(url: str):
    return _fetcher(_static_root()).fetch(url)


@lru_cache(maxsize=4)
def _fonts(static_root: str) -> tuple[FontConfiguration, CSS]:
    """Loaded once per process: parsing the CJK font is the slow part of the first PDF."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    with _only_bundled_fonts(static_root):
        config = FontConfiguration()
    css = CSS(
        string=f"""
        @font-face {{ font-family: "WQY Micro Hei"; src: url("file://{static_root}/{FONT}"); }}
        html {{ font-family: "WQY Micro Hei", sans-serif; }}
    """,
        font_config=config,
        url_fetcher=_fetcher(Path(static_root)),
    )
    return config, css


# The cached configuration removes its font folder when deleted: let that happen while
# WeasyPrint's module is still whole (at interpreter exit it is torn down first).
atexit.register(_fonts.cache_clear)


def render_document(html: str):
    """Lay out HTML (from a Jinja template) with the bundled CJK font; pages can be written apart."""
    from weasyprint import HTML

    config, font_css = _fonts(str(_static_root()))
    document = HTML(string=html, base_url=f"file://{_static_root()}/", url_fetcher=_fetcher(_static_root()))
    return document.render(stylesheets=[font_css], font_config=config)


def render_pdf(html: str) -> bytes:
    """Render HTML to PDF bytes with the bundled CJK font."""
    return render_document(html).write_pdf()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def image_data_uri(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64," + base64.b64encode(data).decode()


# ---- bilingual documents: Chinese first, English under it ------------------------------------


def bilingual(text) -> tuple[str, str]:
    """A label in Chinese and in English: a lazily translated one, or a message id (a template's
    ``N_("…")``, marked so that extraction finds it)."""
    versions = []
    for language in ("zh", "en"):
        with force_locale(CATALOGUES[language]):
            versions.append(gettext(text) if isinstance(text, str) else str(text))
    return versions[0], versions[1]


def both(text) -> Markup:
    """Chinese, with the English below it when it differs (the PDFs' bilingual labels)."""
    zh, en = bilingual(text)
    if zh == en:
        return Markup(escape(zh))
    return Markup('{}<span class="en" lang="en">{}</span>').format(zh, en)
