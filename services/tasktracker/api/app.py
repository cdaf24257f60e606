"""The FastAPI application: `create_app()` builds it; resources are made in `lifespan`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from tasktracker import __version__
from tasktracker.ai.base import Classifier
from tasktracker.api import access, bootstrap, docs, openapi, scrape, system, ws
from tasktracker.api.access import public, requires
from tasktracker.api.edge import Edge
from tasktracker.api.errors import install_error_handlers
from tasktracker.api.rate_limit import RateLimits
from tasktracker.api.server import uvicorn_options
from tasktracker.api.tracing import http_telemetry
from tasktracker.auth import endpoints as accounts
from tasktracker.bot import webhook as telegram_webhook
from tasktracker.channels import endpoints as channels
from tasktracker.channels import webhooks
from tasktracker.config import Settings, get_settings
from tasktracker.events.hub import Hub
from tasktracker.exports import endpoints as exports
from tasktracker.exports import webhooks as export_webhooks
from tasktracker.messages import endpoints as messages
from tasktracker.messages import service as messages_service
from tasktracker.models.user import Role as UserRole
from tasktracker.runtime import Role, build_runtime
from tasktracker.runtime import freeze_heap as runtime_heap_freeze
from tasktracker.tasks import endpoints as tasks
from tasktracker.unit_of_work import GroupCommit
from tasktracker.worker.runner import running

log = logging.getLogger(__name__)

DEFAULT_DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard" / "dist"


def create_app(
    settings: Settings | None = None,
    *,
    role: Role = Role.api,
    migrate: bool = False,
    classifier: Classifier | None = None,
    announce_login: str | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """`announce_login`: the base URL to print a one-time sign-in link under (`tasktracker run`).
    `freeze_heap`: once started, move what start-up made out of the garbage collector's reach (a
    server process; not the tests, which start many apps in one process)."""
    settings = settings or get_settings()
    settings.check_serving()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, role, classifier)
        if migrate:
            from tasktracker.migrations import upgrade

            await upgrade(runtime.engine, settings=settings)
        hub = Hub(settings.ws_queue_size, settings.ws_heartbeat_s)
        app.state.runtime = runtime
        app.state.hub = hub
        if runtime.engine.dialect.name == "postgresql":  # SQLite has one connection: nothing to group
            # The group's one write is one statement (`messages.repository.insert_many`): no BEGIN
            # and COMMIT around it.
            app.state.intake = GroupCommit(runtime, messages_service.store_group, autocommit=True)
        principals = access.cache_of(app)
        async with running(runtime):
            hub.start(runtime.bus, [access.AccessFollower(principals)])
            await bootstrap.accounts(runtime, announce_login)
            if freeze_heap:
                runtime_heap_freeze()
            log.info(
                "tasktracker %s started (%s, %s)",
                __version__,
                role.value,
                "embedded" if settings.embedded_broker else "nats",
            )
            try:
                yield
            finally:
                await hub.stop()

    app = FastAPI(
        title="Task Tracker",
        version=__version__,
        description="Turns the messages a team already writes into tracked, classified work.",
        lifespan=lifespan,
        telemetry=http_telemetry(),
        docs_url=None,  # docs.install adds them, open or not as TASKTRACKER_API_DOCS says
        redoc_url=None,
        openapi_url=None,
    )
    app.state.uvicorn_options = uvicorn_options(settings)
    app.state.rate_limits = RateLimits.from_settings(settings)
    openapi.install(app)
    docs.install(app, settings.effective_api_docs)
    install_error_handlers(app)
    # One layer between uvicorn and the routes does what nine middlewares did (api/edge.py): metrics,
    # security headers, header and body size limits, forwarded headers, trusted hosts, CORS, the input
    # guard, OPTIONS and the JSON 500.
    app.add_middleware(
        Edge,
        max_body_bytes=settings.max_body_bytes,
        trusted_hosts=settings.trusted_host_list,
        forwarded_allow=settings.forwarded_allow_list,
        cors_origins=settings.cors_origin_list,
    )
    # Every route has a rule (tests/test_access.py): reads need a viewer, writes an editor, accounts
    # and channel changes an admin (on the endpoints); webhooks check their own signatures.
    viewer = [requires(UserRole.viewer)]
    app.include_router(system.router)
    app.include_router(scrape.router)
    app.include_router(accounts.auth_router)
    app.include_router(accounts.users_router)
    app.include_router(accounts.tokens_router)
    app.include_router(messages.router, dependencies=viewer)
    app.include_router(tasks.router, dependencies=viewer)
    app.include_router(channels.router, dependencies=viewer)
    app.include_router(webhooks.router)
    app.include_router(exports.targets)
    app.include_router(exports.rules)
    app.include_router(exports.task_exports)
    app.include_router(export_webhooks.router)
    app.include_router(telegram_webhook.router)  # its lifespan runs the bot inside the app
    app.include_router(ws.router)
    _mount_dashboard(app, settings.dashboard_dir or DEFAULT_DASHBOARD)
    return app


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _static_file(dist: Path, path: str) -> Path | None:
    try:
        candidate = (dist / path).resolve()
        return candidate if candidate.is_file() and candidate.is_relative_to(dist.resolve()) else None
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        return None


def _mount_dashboard(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    has_dashboard = index.is_file()
    if has_dashboard and (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/", include_in_schema=False, dependencies=[public])
    async def root(request: Request) -> Response:
        if has_dashboard and _wants_html(request):
            return FileResponse(index)
        return JSONResponse(system.root_info(request.app.state.runtime))

    if not has_dashboard:
        return

    @app.get("/{path:path}", include_in_schema=False, dependencies=[public])
    async def spa(path: str, request: Request) -> Response:
        """Serve files of the build, and index.html for the dashboard's own routes."""
        if path.startswith(("api/", "ws", "docs", "openapi.json")):
            return JSONResponse({"detail": "Not Found", "code": "not_found"}, status_code=404)
        candidate = _static_file(dist, path)
        if candidate is not None:
            return FileResponse(candidate)
        if _wants_html(request):
            return FileResponse(index)
        return JSONResponse({"detail": "Not Found", "code": "not_found"}, status_code=404)
