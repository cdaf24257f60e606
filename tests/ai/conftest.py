"""Fixtures for the fake Ollama server (tests/ai/fake_ollama.py)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_ollama import FakeOllama, FakeOllamaServer, unused_local_url

from tasktracker.config import Settings


@pytest.fixture(scope="session")
def fake_ollama_server() -> Iterator[FakeOllamaServer]:
    server = FakeOllamaServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_ollama(fake_ollama_server: FakeOllamaServer) -> Iterator[FakeOllama]:
    """The running fake, emptied for this test: no models, nothing scripted, no requests recorded."""
    fake_ollama_server.state.reset()
    yield fake_ollama_server.state
    fake_ollama_server.state.reset()


@pytest.fixture
def dead_ollama_url() -> str:
    """An Ollama URL where nothing listens (connection refused)."""
    return unused_local_url()


@pytest.fixture
def ollama_settings(fake_ollama: FakeOllama) -> Callable[..., Settings]:
    """Settings pointing at the fake (or at `url`), with timeouts short enough for tests."""

    def make(url: str | None = None, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "ollama_base_url": url or fake_ollama.base_url,
            "ollama_model": "qwen2.5:3b-instruct",
            "ollama_timeout_s": 2.0,
            "ollama_retries": 2,
            "llm_concurrency": 2,
            "classifier": "ollama",
        }
        values.update(overrides)
        return Settings(**values)

    return make
