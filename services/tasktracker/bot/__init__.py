"""Telegram bot: aiogram routers and handlers that call services."""
