"""The `tasktracker` command: one package, several processes.

tasktracker run        everything in one process (embedded default: SQLite, in-process broker)
tasktracker api        the HTTP/WebSocket API only (production, with NATS)
tasktracker worker     the classification worker only (production, with NATS)
tasktracker migrate    apply database migrations
tasktracker classify   classify a text and print the result
tasktracker config     the effective settings; --docs: the reference of every variable
tasktracker secrets rotate   re-encrypt stored secrets with the current secret key
tasktracker openapi    print the OpenAPI document
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import InMemoryBroker

from tasktracker import __version__
from tasktracker.config import ConfigError, Settings
from tasktracker.config import settings_or_exit as _settings
from tasktracker.events.bus import InProcessBus

app = typer.Typer(
    name="tasktracker",
    help="Task Tracker: turns team messages into classified, tracked tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _serve(role: str, settings: Settings, migrate: bool, host: str | None, port: int | None) -> None:
    import uvicorn

    from tasktracker import telemetry
    from tasktracker.api.app import create_app
    from tasktracker.log import configure
    from tasktracker.runtime import Role

    configure(settings.log_level, settings.log_format)
    telemetry.configure(settings, "tasktracker" if role == "all" else f"tasktracker-{role}")
    try:
        application = create_app(settings, role=Role(role), migrate=migrate)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's records go through our handler (JSON off a terminal)
        timeout_graceful_shutdown=20,
        **application.state.uvicorn_options,
    )


HostOpt = Annotated[str | None, typer.Option(help="Bind address (default TASKTRACKER_HOST or 127.0.0.1).")]
PortOpt = Annotated[int | None, typer.Option(help="Port (default PORT or 8000).", min=1, max=65535)]


@app.command()
def run(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run everything in one process: API, dashboard, worker (migrations applied first)."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _serve("all", settings, migrate=True, host=host, port=port)


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
    asyncio.run(run_worker(settings))


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
    bus: InProcessBus = field(default_factory=InProcessBus)
    broker: InMemoryBroker = field(default_factory=InMemoryBroker)

    def broker_connected(self) -> bool:
        return False


secrets_app = typer.Typer(
    help="Secrets stored in the database (channel keys), encrypted with TASKTRACKER_SECRET_KEY.",
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
    from tasktracker.unit_of_work import unit_of_work

    async def _rotate() -> int:
        engine = create_engine(settings)
        store = _StoreOnly(settings, create_sessionmaker(engine))
        try:
            async with unit_of_work(store) as uow:
                return await reseal_secrets(uow.session, SecretBox.from_settings(settings))
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(_rotate())
    except SecretUnreadable as exc:
        typer.echo(f"nothing changed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} stored secret(s) encrypted with the current key")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def _register_extensions() -> None:
    from tasktracker.bot import cli as bot_cli

    bot_cli.register(app)
    from tasktracker.ai import cli as ai_cli
    from tasktracker.ai import duplicates_eval
    from tasktracker.corrections import load_corrections

    ai_cli.register(app, load_corrections=load_corrections)
    duplicates_eval.register(app)


# The long-running processes are core commands: they skip importing the extensions (the evaluation
# commands import scikit-learn and the LLM client at module level: ~100 MB and seconds of start-up in
# an API process that never uses them).
SERVING_COMMANDS = frozenset({"api", "worker", "run"})


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in SERVING_COMMANDS:
        _register_extensions()
    app()


if __name__ == "__main__":
    main()
