"""Command-line adapters for the channels:

tasktracker bot                      run the Telegram bot (long polling; one replica)
tasktracker bot set-webhook [URL]    have Telegram post updates to URL (default TASKTRACKER_PUBLIC_URL)
tasktracker bot delete-webhook       go back to polling
tasktracker bot webhook-info         what Telegram has on file
tasktracker import telegram FILE     import a Telegram Desktop chat export (result.json)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer

from tasktracker.config import Settings
from tasktracker.config import settings_or_exit as _settings

T = TypeVar("T")

WEBHOOK_PATH = "/webhook/telegram"
WEBHOOK_PORTS = {None, 443, 80, 88, 8443}  # the only ports Telegram delivers to
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
IMPORT_BATCH = 200


def _bot_settings() -> Settings:
    from tasktracker.bot.factory import NotConfigured, create_bot

    settings = _settings()
    try:
        create_bot(settings)  # checks the token's form; sends nothing
    except NotConfigured as exc:
        typer.echo(f"{exc}: create a bot with @BotFather and export its token", err=True)
        raise typer.Exit(2) from None
    return settings


def webhook_url(url: str | None, public_url: str) -> str:
    """The URL to register: given or TASKTRACKER_PUBLIC_URL, https, a port Telegram accepts, our path."""
    raw = url or public_url
    if not raw:
        raise ValueError("give the URL, or set TASKTRACKER_PUBLIC_URL")
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{raw!r}: Telegram delivers webhooks only to https:// URLs")
    if parts.port not in WEBHOOK_PORTS:
        raise ValueError(f"{raw!r}: Telegram delivers webhooks only to ports 443, 80, 88 and 8443")
    path = parts.path if parts.path not in ("", "/") else WEBHOOK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


async def _with_bot(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    from tasktracker.bot.factory import create_bot

    bot = create_bot(settings)
    try:
        return await action(bot)
    finally:
        await bot.session.close()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from aiogram.exceptions import TelegramAPIError

    from tasktracker.bot.factory import NotConfigured

    try:
        return asyncio.run(coro)
    except NotConfigured as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    except TelegramAPIError as exc:
        typer.echo(f"Telegram refused: {exc}", err=True)
        raise typer.Exit(1) from None


# tasktracker bot ------------------------------------------------------------------------------------

bot_app = typer.Typer(help="The Telegram bot: polling, or the API's webhook.", add_completion=False)


@bot_app.callback(invoke_without_command=True)
def bot(ctx: typer.Context) -> None:
    """Run the Telegram bot with long polling (deletes any webhook first; run exactly one replica)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _bot_settings()
    from tasktracker import telemetry
    from tasktracker.bot.runner import run_bot
    from tasktracker.log import configure

    configure(settings.log_level)
    telemetry.configure(settings, "tasktracker-bot")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _run(run_bot(settings))


@bot_app.command("set-webhook")
def set_webhook(
    url: Annotated[
        str | None, typer.Argument(help="Public https URL (default TASKTRACKER_PUBLIC_URL).")
    ] = None,
    drop_pending_updates: Annotated[bool, typer.Option(help="Discard updates Telegram is holding.")] = False,
) -> None:
    """Have Telegram POST updates to URL (the API's /webhook/telegram), signed with the webhook secret."""
    from tasktracker.bot.settings import webhook_secret

    settings = _bot_settings()
    secret = webhook_secret(settings)
    if secret is None or not SECRET_PATTERN.match(secret):
        typer.echo(
            "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET must be set (1-256 characters: letters, digits, _ and -); "
            "the API refuses updates without it",
            err=True,
        )
        raise typer.Exit(2)
    try:
        target = webhook_url(url, settings.public_url)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    async def action(bot: Any) -> None:
        from tasktracker.bot.factory import COMMANDS, allowed_updates

        await bot.set_webhook(
            url=target,
            secret_token=secret,
            allowed_updates=allowed_updates(),
            drop_pending_updates=drop_pending_updates,
        )
        await bot.set_my_commands(COMMANDS)

    _run(_with_bot(settings, action))
    typer.echo(f"webhook set: Telegram now posts updates to {target}")


@bot_app.command("delete-webhook")
def delete_webhook(
    drop_pending_updates: Annotated[bool, typer.Option(help="Discard updates Telegram is holding.")] = False,
) -> None:
    """Remove the webhook (then `tasktracker bot` can poll)."""
    settings = _bot_settings()
    _run(_with_bot(settings, lambda bot: bot.delete_webhook(drop_pending_updates=drop_pending_updates)))
    typer.echo("webhook deleted")


@bot_app.command("webhook-info")
def webhook_info() -> None:
    """Print what Telegram has on file: URL, pending updates, the last delivery error."""
    settings = _bot_settings()
    info = _run(_with_bot(settings, lambda bot: bot.get_webhook_info()))
    typer.echo(info.model_dump_json(indent=2, exclude_none=True))


# tasktracker import ---------------------------------------------------------------------------------

import_app = typer.Typer(help="Import message history.", no_args_is_help=True, add_completion=False)


@dataclass
class ImportSummary:
    chats: int = 0
    messages: int = 0
    created: int = 0
    skipped: int = 0
    queued: bool = False


class _NoClassifier:
    """The importer only stores and queues; it never classifies."""

    name = "none"

    async def classify(self, text: str) -> Any:
        raise RuntimeError("the importer does not classify")

    async def ready(self) -> bool:
        return False


async def import_telegram_file(settings: Settings, path: Path, progress: Any | None = None) -> ImportSummary:
    """Store every text of the export (idempotently), batch by batch; queue classification when NATS is there."""
    from tasktracker.channels import telegram_export
    from tasktracker.runtime import Role, build_runtime
    from tasktracker.unit_of_work import unit_of_work

    chats = telegram_export.load(path)
    runtime = build_runtime(settings, Role.api, classifier=_NoClassifier())
    summary = ImportSummary(chats=len(chats))
    try:
        if settings.embedded_broker:
            from tasktracker.migrations import upgrade

            await upgrade(runtime.engine)
        else:
            await runtime.start()
            try:
                await asyncio.wait_for(runtime.broker_ready.wait(), 15)
                summary.queued = True
            except TimeoutError:
                pass
        for chat in chats:
            async with unit_of_work(runtime) as uow:
                channel = await telegram_export.chat_channel(uow.session, chat)
            task = (
                progress.add_task(str(chat.name or chat.chat_id), total=len(chat.messages))
                if progress
                else None
            )

            async def flush(batch: list[Any], channel: Any = channel) -> None:
                async with unit_of_work(runtime) as uow:
                    created = await telegram_export.store_batch(uow, settings, channel, batch)
                    if not summary.queued:  # no broker here: the running server's sweep queues them
                        uow.keep_effects_unsent()
                summary.created += len(created)

            batch: list[Any] = []
            for item in telegram_export.texts(chat):
                summary.messages += 1
                if item is None:
                    summary.skipped += 1
                else:
                    batch.append(item)
                if len(batch) >= IMPORT_BATCH:
                    await flush(batch)
                    batch = []
                if progress is not None:
                    progress.advance(task)
            if batch:
                await flush(batch)
    finally:
        await runtime.stop()
    return summary


@import_app.command("telegram")
def import_telegram(
    path: Annotated[
        Path,
        typer.Argument(
            help="result.json of Telegram Desktop's JSON chat export.", exists=True, dir_okay=False
        ),
    ],
) -> None:
    """Import a Telegram Desktop chat export. Safe to repeat: known messages are not stored twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tasktracker.channels.telegram_export import ExportError

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=False) as progress:
            summary = asyncio.run(import_telegram_file(settings, path, progress))
    except ExportError as exc:
        typer.echo(f"not a Telegram Desktop JSON export: {exc}", err=True)
        raise typer.Exit(2) from None
    existing = summary.messages - summary.skipped - summary.created
    typer.echo(
        f"{summary.chats} chat(s): {summary.created} message(s) stored, {existing} already there, "
        f"{summary.skipped} skipped (service messages, media without text)"
    )
    if not summary.queued:
        typer.echo("classification: the running server's sweep picks the new messages up within minutes")


def register(app: typer.Typer) -> None:
    """Add the `bot` and `import` command groups to the `tasktracker` command (once)."""
    if any(group.name == "bot" for group in app.registered_groups):
        return
    app.add_typer(bot_app, name="bot")
    app.add_typer(import_app, name="import")
