"""Security headers on every response.

The Content-Security-Policy allows only this origin: every script, style and font
is served from static/ (nothing from a CDN). The scanner's QR decoder runs in a
worker made from a blob: URL, and QR images and the camera use data:/blob: URLs.
"""
from __future__ import annotations

from flask import Flask, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if request.is_secure:  # behind HTTPS (a proxy sets X-Forwarded-Proto; see ProxyFix)
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
