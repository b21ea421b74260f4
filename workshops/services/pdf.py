"""PDF rendering with WeasyPrint: fonts from static/, nothing fetched from the network."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from flask import current_app
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

FONT = "fonts/wqy-microhei/wqy-microhei.ttc"


class BlockedURL(ValueError):
    """A template asked for something outside static/ or a data: URI."""


def _static_root() -> Path:
    if current_app.static_folder is None:  # create_app always sets one
        raise RuntimeError("the app has no static folder to take fonts and images from")
    return Path(current_app.static_folder).resolve()


class LocalFetcher(URLFetcher):
    """Only data: URIs and files under static/ — a PDF never reaches the network."""

    def __init__(self, static_root: Path):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.static_root = static_root

    def fetch(self, url, headers=None):
        if url.startswith("file://"):
            path = Path(url[len("file://") :].split("?")[0]).resolve()
            if not path.is_relative_to(self.static_root):
                raise BlockedURL(f"blocked: {url[:100]}")
        elif not url.startswith("data:"):
            raise BlockedURL(f"blocked: {url[:100]}")
        return super().fetch(url, headers)


def local_fetcher(url: str):
    return LocalFetcher(_static_root()).fetch(url)


@lru_cache(maxsize=4)
def _fonts(static_root: str) -> tuple[FontConfiguration, CSS]:
    """Loaded once per process: parsing the CJK font is the slow part of the first PDF."""
    config = FontConfiguration()
    css = CSS(
        string=f"""
        @font-face {{ font-family: "WQY Micro Hei"; src: url("file://{static_root}/{FONT}"); }}
        html {{ font-family: "WQY Micro Hei", sans-serif; }}
    """,
        font_config=config,
        url_fetcher=LocalFetcher(Path(static_root)),
    )
    return config, css


def render_document(html: str):
    """Lay out HTML (from a Jinja template) with the bundled CJK font; pages can be written apart."""
    config, font_css = _fonts(str(_static_root()))
    document = HTML(
        string=html, base_url=f"file://{_static_root()}/", url_fetcher=LocalFetcher(_static_root())
    )
    return document.render(stylesheets=[font_css], font_config=config)


def render_pdf(html: str) -> bytes:
    """Render HTML to PDF bytes with the bundled CJK font."""
    return render_document(html).write_pdf()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def image_data_uri(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64," + base64.b64encode(data).decode()
