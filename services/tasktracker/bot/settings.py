"""Telegram settings read off `Settings`, importable without loading aiogram (it takes seconds)."""

from __future__ import annotations

from tasktracker.config import Settings

__all__ = ["bot_token", "webhook_secret"]


def bot_token(settings: Settings) -> str | None:
    """The token, or None when unset or empty."""
    token = settings.telegram_bot_token
    return token.get_secret_value().strip() or None if token is not None else None


def webhook_secret(settings: Settings) -> str | None:
    secret = settings.telegram_webhook_secret
    return secret.get_secret_value() or None if secret is not None else None
