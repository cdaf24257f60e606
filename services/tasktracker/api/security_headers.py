"""Security headers on every HTTP answer of the API (set by `api/edge.py`).

* `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`
  (with CSP's `frame-ancestors 'none'`: nothing may frame any page of the app) everywhere;
* the dashboard's HTML gets a Content-Security-Policy that allows only its own files: scripts and
  styles from this origin (no inline script: the theme script is a file for that reason), fetch and
  WebSocket to this origin, images from itself and `data:`;
* JSON and everything else gets `default-src 'none'`: an API answer is never a document to run;
* answers under `/api/` get `Cache-Control: no-store` (unless the endpoint set one): they hold a
  signed-in user's data, which no shared cache and no browser history should keep;
* `/docs` and `/redoc` load FastAPI's pages from the jsDelivr CDN with an inline bootstrap script, so
  their policy allows that CDN and inline script, and still forbids framing.

HSTS is the TLS terminator's to send (the app does not know whether it is reached over https).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Message

DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def policy_for(path: str, content_type: str) -> str:
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    if content_type.startswith("text/html"):
        return DASHBOARD_CSP
    return API_CSP


def add_security_headers(message: Message, path: str) -> None:
    """Set the headers above on an `http.response.start` message (those the endpoint set stay)."""
    headers = MutableHeaders(scope=message)
    for name, value in COMMON.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", policy_for(path, headers.get("content-type", "")))
    if path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
