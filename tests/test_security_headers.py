"""Security headers on every answer of the API, and CORS for configured origins only."""

from __future__ import annotations

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.api.security_headers import API_CSP, DASHBOARD_CSP
from tasktracker.config import ConfigError
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, serve

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _common(answer: httpx.Response) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


@sqlite_only
async def test_every_answer_carries_the_security_headers(make_settings, tmp_path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    settings = make_settings(dashboard_dir=dist)
    app = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        html = await client.get("/board", headers={"accept": "text/html"})
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        _common(html)
        assert html.headers["content-security-policy"] == DASHBOARD_CSP
        assert "'unsafe-inline'" not in DASHBOARD_CSP and "script-src 'self'" in DASHBOARD_CSP
        for answer in (
            await client.get("/api/health"),
            await client.get("/api/messages/999999"),  # 404
            await client.post("/api/messages", json={"content": ""}),  # 422
            await client.get("/assets/app.js"),
            await client.get("/metrics"),  # 401
        ):
            _common(answer)
            if not answer.headers["content-type"].startswith("text/html"):
                assert answer.headers["content-security-policy"] == API_CSP, answer.url
        docs = await client.get("/docs")
        _common(docs)
        assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


@sqlite_only
async def test_cors_answers_configured_origins_only(make_settings) -> None:
    allowed = "https://tracker.example.com"
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    app = create_app(
        make_settings(cors_origins=allowed), role=Role.all, migrate=True, classifier=ScriptedClassifier()
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        ok = await client.options("/api/messages", headers={"origin": allowed, **preflight})
        assert ok.headers["access-control-allow-origin"] == allowed
        other = await client.options("/api/messages", headers={"origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
        simple = await client.get("/api/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers

    default = create_app(make_settings(), role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(default) as base, httpx.AsyncClient(base_url=base) as client:
        answer = await client.get("/api/health", headers={"origin": allowed})
        assert "access-control-allow-origin" not in answer.headers  # none by default


@pytest.mark.parametrize(
    "value", ["*", "https://a.example.com,*", "tracker.example.com", "https://a.example/x"]
)
def test_cors_origins_must_be_exact_origins(make_settings, value) -> None:
    with pytest.raises(ConfigError, match=r"CORS_ORIGINS"):
        make_settings(cors_origins=value)


@sqlite_only
async def test_api_answers_are_not_kept_by_caches(make_settings, tmp_path) -> None:
    """A signed-in user's data must not stay in a shared cache or the browser's: `no-store` on every
    answer under /api/, errors included; the dashboard's files keep their own caching."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    app = create_app(
        make_settings(dashboard_dir=dist), role=Role.all, migrate=True, classifier=ScriptedClassifier()
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        for answer in (
            await client.get("/api/messages"),
            await client.get("/api/tasks/999999"),
            await client.post("/api/messages", json={"content": ""}),
        ):
            assert answer.headers["cache-control"] == "no-store", answer.url
        assert "no-store" not in (await client.get("/assets/app.js")).headers.get("cache-control", "")


@sqlite_only
async def test_oversized_request_headers_are_refused_before_anything_reads_them(make_settings) -> None:
    app = create_app(make_settings(auth="on"), role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        normal = await client.get("/api/messages", headers={"authorization": "Bearer tt_" + "a" * 4000})
        assert normal.status_code == 401  # a long but plausible header is only a wrong token
        for headers in (
            {"authorization": "Bearer tt_" + "a" * 2_000_000},
            {f"x-pad-{i}": "b" * 1000 for i in range(100)},
        ):
            answer = await client.get("/api/messages", headers=headers)
            assert answer.status_code == 431
            assert answer.json() == {
                "detail": "the request's header fields add up to more than 65536 bytes",
                "code": "request_header_fields_too_large",
            }
            assert answer.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/api/health")).status_code == 200  # the connection's server is fine
