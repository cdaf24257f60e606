"""The `tasktracker` command: one package, several processes.

tasktracker run        everything in one process (embedded default: SQLite, in-process broker)
tasktracker api        the HTTP/WebSocket API only (production, with NATS)
tasktracker worker     the classification worker only (production, with NATS)
tasktracker migrate    apply database migrations
tasktracker classify   classify a text and print the result
tasktracker config     the effective settings; --docs: the reference of every variable
tasktracker secrets rotate   re-encrypt stored secrets with the current secret key
tasktracker openapi    print the OpenAPI document
tasktracker user create|list|link   accounts; `link` prints a one-time sign-in link
tasktracker token create NAME --user U   a personal API token
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tasktracker import __version__
from tasktracker.config import ConfigError, Settings
from tasktracker.config import settings_or_exit as _settings

if TYPE_CHECKING:  # imported by the commands that use them: `run` imports them with the collector paused
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from taskiq import InMemoryBroker

    from tasktracker.events.bus import InProcessBus

T = TypeVar("T")

app = typer.Typer(
    name="tasktracker",
    help="Task Tracker: turns team messages into classified, tracked tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _serve(
    role: str,
    settings: Settings,
    migrate: bool,
    host: str | None,
    port: int | None,
    announce_login: bool = False,
) -> None:
    # What start-up makes (modules, models, routes, the classifier) lives as long as the process: the
    # collector's passes over it while it grows find next to nothing (~1,800 objects), and cost ~0.3 s
    # of a ~1.8 s warm start. Paused until the lifespan freezes the heap and turns it back on
    # (runtime.freeze_heap).
    gc.disable()
    import uvicorn

    from tasktracker import telemetry
    from tasktracker.api.app import create_app
    from tasktracker.log import configure
    from tasktracker.runtime import Role

    configure(settings.log_level, settings.log_format)
    telemetry.configure(settings, "tasktracker" if role == "all" else f"tasktracker-{role}")
    bind_host, bind_port = host or settings.host, port or settings.port
    try:
        settings.check_bind(bind_host)
        application = create_app(
            settings,
            role=Role(role),
            migrate=migrate,
            announce_login=_local_url(settings, bind_host, bind_port) if announce_login else None,
            freeze_heap=True,
        )
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        application,
        host=bind_host,
        port=bind_port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's records go through our handler (JSON off a terminal)
        timeout_graceful_shutdown=20,
        **application.state.uvicorn_options,
    )


def _local_url(settings: Settings, host: str, port: int) -> str:
    """Where the person who started the server opens it."""
    if settings.public_url:
        return settings.public_url
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


HostOpt = Annotated[str | None, typer.Option(help="Bind address (default TASKTRACKER_HOST or 127.0.0.1).")]
PortOpt = Annotated[int | None, typer.Option(help="Port (default PORT or 8000).", min=1, max=65535)]


@app.command()
def run(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run everything in one process: API, dashboard, worker (migrations applied first)."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _serve("all", settings, migrate=True, host=host, port=port, announce_login=True)


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run the API process (sends jobs to the workers over NATS)."""
    settings = _settings()
    if settings.embedded_broker:
        typer.echo(
            "`tasktracker api` needs NATS_URL; use `tasktracker run` for the single-process mode", err=True
        )
        raise typer.Exit(2)
    _serve("api", settings, migrate=False, host=host, port=port)


@app.command()
def worker() -> None:
    """Run a classification worker (JetStream consumer + stuck-message sweep)."""
    settings = _settings()
    if settings.embedded_broker:
        typer.echo(
            "`tasktracker worker` needs NATS_URL; use `tasktracker run` for the single-process mode", err=True
        )
        raise typer.Exit(2)
    from tasktracker import telemetry
    from tasktracker.log import configure
    from tasktracker.worker.main import run_worker

    configure(settings.log_level, settings.log_format)
    telemetry.configure(settings, "tasktracker-worker")
    _run_loop(run_worker(settings))


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a server process's loop on uvloop, as uvicorn runs the API's (`loop="auto"`): its transports
    and scheduling are C, where the standard loop's are Python — a worker spends a tenth of its CPU
    writing to and reading from PostgreSQL and NATS sockets. The standard loop where it is missing."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform without it (uvicorn[standard] brings it)
        asyncio.run(main)
    else:
        uvloop.run(main)


@app.command()
def migrate(
    wait: Annotated[
        bool, typer.Option("--wait", help="Apply nothing: wait until the schema is at the newest revision.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="With --wait: give up after this many seconds.", min=0)
    ] = 600,
) -> None:
    """Apply database migrations up to the newest (or, with --wait, wait for another process to)."""
    settings = _settings()
    from tasktracker.migrations import upgrade_sync, wait_for_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if wait:
        from tasktracker.db import create_engine

        async def _wait() -> list[str]:
            engine = create_engine(settings)
            try:
                return await wait_for_head(engine, timeout)
            finally:
                await engine.dispose()

        missing = asyncio.run(_wait())
        if missing:
            typer.echo(f"schema not migrated after {timeout:g}s; missing: {', '.join(missing)}", err=True)
            raise typer.Exit(1)
        typer.echo("database is up to date")
        return
    upgrade_sync(settings.effective_database_url)
    typer.echo("database is up to date")


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="The message text; '-' reads standard input.")],
) -> None:
    """Classify a text with the configured classifier chain and print the JSON result."""
    settings = _settings()
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        typer.echo("nothing to classify: the text is empty", err=True)
        raise typer.Exit(2)
    from tasktracker.ai.factory import build_classifier

    result = asyncio.run(build_classifier(settings).classify(text))
    typer.echo(result.model_dump_json(indent=2))


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (the dashboard's client is generated from it)."""
    from tasktracker.api.app import create_app

    typer.echo(json.dumps(create_app(_settings()).openapi(), indent=2, sort_keys=True))


@app.command("config")
def config_command(
    docs: Annotated[
        bool, typer.Option("--docs", help="Print the reference of every variable (docs/configuration.md).")
    ] = False,
) -> None:
    """Print the effective settings (secrets hidden), or with --docs the reference of every variable."""
    if docs:
        from tasktracker.config_docs import render_markdown

        typer.echo(render_markdown(), nl=False)
        return
    settings = _settings()
    typer.echo(settings.model_dump_json(indent=2, exclude={"database_url"}))
    typer.echo(f"database: {settings.effective_database_url.split('@')[-1]}")


@dataclass
class _StoreOnly:
    """What a unit of work needs, for commands that only write rows (no jobs, no events)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    broker: InMemoryBroker

    @classmethod
    def of(cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> _StoreOnly:
        from taskiq import InMemoryBroker

        from tasktracker.events.bus import InProcessBus

        return cls(settings, sessions, InProcessBus(), InMemoryBroker())

    def broker_connected(self) -> bool:
        return False


secrets_app = typer.Typer(
    help="Secrets stored in the database (channel keys, export target tokens), encrypted with TASKTRACKER_SECRET_KEY.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate")
def rotate_secrets() -> None:
    """Re-encrypt every stored secret with the current TASKTRACKER_SECRET_KEY (the old key must be in
    TASKTRACKER_PREVIOUS_SECRET_KEYS meanwhile; it can go once this has run)."""
    settings = _settings()
    from tasktracker.channels.service import reseal_secrets
    from tasktracker.crypto import SecretBox, SecretUnreadable
    from tasktracker.db import create_engine, create_sessionmaker
    from tasktracker.exports.service import reseal_secrets as reseal_target_secrets
    from tasktracker.unit_of_work import unit_of_work

    async def _rotate() -> int:
        engine = create_engine(settings)
        store = _StoreOnly.of(settings, create_sessionmaker(engine))
        try:
            box = SecretBox.from_settings(settings)
            async with unit_of_work(store) as uow:  # one unit: all or nothing
                return await reseal_secrets(uow.session, box) + await reseal_target_secrets(uow.session, box)
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(_rotate())
    except SecretUnreadable as exc:
        typer.echo(f"nothing changed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} stored secret(s) encrypted with the current key")


users_app = typer.Typer(help="Accounts: users with a role (viewer, editor, admin).", no_args_is_help=True)
app.add_typer(users_app, name="user")
tokens_app = typer.Typer(help="Personal API tokens (`Authorization: Bearer tt_...`).", no_args_is_help=True)
app.add_typer(tokens_app, name="token")


def _in_store(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one unit of work on the configured database; an AppError is one line and exit 1."""
    from tasktracker.db import create_engine, create_sessionmaker
    from tasktracker.errors import AppError
    from tasktracker.unit_of_work import unit_of_work

    async def _run() -> T:
        engine = create_engine(settings)
        try:
            if settings.is_sqlite:  # the embedded mode migrates itself, as `tasktracker run` does
                from tasktracker.migrations import upgrade

                settings.data_dir.mkdir(parents=True, exist_ok=True)
                await upgrade(engine, settings=settings)
            async with unit_of_work(_StoreOnly.of(settings, create_sessionmaker(engine))) as uow:
                return await work(uow.session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_run())
    except AppError as exc:
        detail = (
            exc.detail if isinstance(exc.detail, str) else "; ".join(str(d.get("msg")) for d in exc.detail)
        )
        typer.echo(f"error: {detail}", err=True)
        raise typer.Exit(1) from None


def _read_password(password_file: Path | None) -> str:
    from tasktracker.auth.passwords import WeakPassword, check_strength

    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            typer.echo(f"error: cannot read {password_file}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
    else:
        import getpass

        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(2)
    try:
        check_strength(password)
    except WeakPassword as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return password


RoleOpt = Annotated[str, typer.Option("--role", help="viewer, editor or admin.")]


@users_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username: letters, digits and ._@- (stored lower-case).")],
    role: RoleOpt = "viewer",
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (else it is asked for).")
    ] = None,
) -> None:
    """Create a user (the password: at least 12 characters)."""
    from pydantic import SecretStr, ValidationError

    from tasktracker.auth import service
    from tasktracker.auth.schemas import UserCreate

    settings = _settings()
    password = _read_password(password_file)
    try:
        data = UserCreate(username=name, role=role, email=email, password=SecretStr(password))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None

    async def create(session: AsyncSession) -> str:
        user = await service.create_user(session, data)
        return f"user {user.username} ({user.role}) created"

    typer.echo(_in_store(settings, create))


@users_app.command("list")
def user_list() -> None:
    """Every user: name, role, whether disabled, email."""
    from tasktracker.auth import service

    async def rows(session: AsyncSession) -> list[str]:
        return [
            f"{u.id}\t{u.username}\t{u.role}\t{'disabled' if u.disabled else 'enabled'}\t{u.email or ''}"
            for u in await service.list_users(session)
        ]

    for line in _in_store(_settings(), rows):
        typer.echo(line)


@users_app.command("link")
def user_link(name: Annotated[str, typer.Argument(help="The user to sign in.")]) -> None:
    """Print a one-time sign-in link for a user (works once, for TASKTRACKER_LOGIN_LINK_TTL_S)."""
    from datetime import timedelta

    from tasktracker.auth import service

    settings = _settings()

    async def link(session: AsyncSession) -> str:
        user = await service.user_named(session, name)
        return await service.one_time(session, user, "login", timedelta(seconds=settings.login_link_ttl_s))

    value = _in_store(settings, link)
    typer.echo(f"Open {_local_url(settings, settings.host, settings.port)}/api/auth/link?token={value}")


@tokens_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci or bench.")],
    user: Annotated[str, typer.Option("--user", help="The user the token acts as (with their role).")],
    expires_in_days: Annotated[
        int | None, typer.Option(help="Days until it expires (default: never).", min=1, max=3650)
    ] = None,
) -> None:
    """Create a personal API token for a user and print it (it is shown this once)."""
    from pydantic import ValidationError

    from tasktracker.auth import service
    from tasktracker.auth.schemas import TokenCreate

    try:
        data = TokenCreate(name=name, expires_in_days=expires_in_days)
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None

    async def create(session: AsyncSession) -> str:
        owner = await service.user_named(session, user)
        assert owner.id is not None
        _, value = await service.create_token(session, owner.id, data)
        return value

    typer.echo(_in_store(_settings(), create))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def _register_extensions() -> None:
    from tasktracker.bot import cli as bot_cli

    bot_cli.register(app)
    from tasktracker.ai import cli as ai_cli
    from tasktracker.ai import duplicates_cli
    from tasktracker.corrections import load_corrections

    ai_cli.register(app, load_corrections=load_corrections)
    duplicates_cli.register(app)


def _core_commands() -> set[str]:
    """The commands and groups defined in this module (`api`, `migrate`, `user`, `token`, ...)."""
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    return {name.replace("_", "-") for name in commands} | {g.name for g in app.registered_groups if g.name}


def main() -> None:
    # Only the extensions' own commands and the whole command's help import them: the evaluation
    # commands import scikit-learn and the LLM client at module level (~100 MB and seconds of start-up
    # in a process that never uses them, serving or `user create`).
    if len(sys.argv) < 2 or sys.argv[1] not in _core_commands():
        _register_extensions()
    app()


if __name__ == "__main__":
    main()
