"""Process-wide logging: one line per record, level from settings."""

import logging
import sys


def configure(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("aiosqlite", "asyncio", "httpx", "httpcore", "openai", "taskiq.receiver.receiver", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
