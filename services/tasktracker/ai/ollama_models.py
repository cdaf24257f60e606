"""Which models the Ollama server has, and pulling the configured one, with the official `ollama` client.

The native API lives at the server root (`http://host:11434/api/...`), not under the OpenAI-compatible
`/v1` that pydantic-ai uses, so `ollama_host` strips a `/v1` suffix someone may have configured.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from ollama import AsyncClient, ResponseError

from tasktracker.config import Settings

log = logging.getLogger(__name__)

LIST_TIMEOUT_S = 5.0
PULL_TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=30.0, pool=5.0)


class OllamaModelsError(RuntimeError):
    """Base for errors about the Ollama server or its models."""


class OllamaUnavailableError(OllamaModelsError):
    """The Ollama server did not answer."""


class NotOllamaError(OllamaUnavailableError):
    """The server answers but has no Ollama API (404 on /api/tags): another OpenAI-compatible server."""


class OllamaModelMissingError(OllamaModelsError):
    """The configured model is not on the server and pulling is disabled."""


class OllamaPullError(OllamaModelsError):
    """The server could not pull the model."""


@dataclass(frozen=True)
class PullProgress:
    """One progress line of a pull, as Ollama streams it."""

    status: str
    completed: int | None = None
    total: int | None = None
    digest: str | None = None

    @property
    def percent(self) -> float | None:
        if self.total and self.completed is not None:
            return min(100.0, 100.0 * self.completed / self.total)
        return None


ProgressCallback = Callable[[PullProgress], Awaitable[None] | None]


def ollama_host(base_url: str) -> str:
    """The server root for the native API: `http://h:11434/v1/` -> `http://h:11434`."""
    url = base_url.rstrip("/")
    return url.removesuffix("/v1").rstrip("/")


def full_model_name(name: str) -> str:
    """Ollama's canonical name: a model without a tag means `:latest` (`llama3.2` -> `llama3.2:latest`)."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _client(settings: Settings, timeout: float | httpx.Timeout) -> AsyncClient:
    return AsyncClient(host=ollama_host(settings.ollama_base_url), timeout=timeout)


async def list_local_models(settings: Settings, *, timeout_s: float = LIST_TIMEOUT_S) -> list[str]:
    """Names of the models the server has (GET /api/tags), canonical form, sorted."""
    host = ollama_host(settings.ollama_base_url)
    try:
        async with _client(settings, timeout_s) as client:
            listing = await client.list()
    except ResponseError as exc:
        error = NotOllamaError if exc.status_code == 404 else OllamaUnavailableError
        raise error(f"Ollama at {host} answered {exc.status_code}: {exc.error}") from exc
    except (ConnectionError, httpx.HTTPError) as exc:
        raise OllamaUnavailableError(f"Ollama is not reachable at {host} ({type(exc).__name__})") from exc
    return sorted(full_model_name(m.model) for m in listing.models if m.model)


async def list_openai_models(settings: Settings, *, timeout_s: float = LIST_TIMEOUT_S) -> list[str]:
    """Model ids an OpenAI-compatible server lists (GET <base>/v1/models), e.g. llama-cpp-python's."""
    url = settings.ollama_openai_url.rstrip("/") + "/models"
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(url)
            response.raise_for_status()
            data = response.json().get("data", [])
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise OllamaUnavailableError(f"no model list at {url} ({type(exc).__name__})") from exc
    return sorted(str(item["id"]) for item in data if isinstance(item, dict) and item.get("id"))


async def has_model(settings: Settings, *, timeout_s: float = LIST_TIMEOUT_S) -> bool:
    """True when the configured model is on the server (Ollama's list, or `/v1/models` on a server
    that only speaks the OpenAI-compatible API, such as llama-cpp-python's)."""
    try:
        models = await list_local_models(settings, timeout_s=timeout_s)
    except NotOllamaError:
        return settings.ollama_model in await list_openai_models(settings, timeout_s=timeout_s)
    return full_model_name(settings.ollama_model) in models


class _ProgressLog:
    """Logs a pull at each status change and every 10 % of a layer, so a large pull is not silent."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.last: tuple[str, int] | None = None

    def __call__(self, progress: PullProgress) -> None:
        percent = progress.percent
        step = -1 if percent is None else int(percent // 10) * 10
        key = (progress.digest or progress.status, step)
        if key == self.last:
            return
        self.last = key
        if percent is None:
            log.info("ollama pull %s: %s", self.model, progress.status)
        else:
            log.info("ollama pull %s: %s %d%%", self.model, progress.status, step)


async def pull_model(settings: Settings, progress_cb: ProgressCallback | None = None) -> None:
    """Pull the configured model, streaming progress to `progress_cb` and the log."""
    model = settings.ollama_model
    host = ollama_host(settings.ollama_base_url)
    log_progress = _ProgressLog(model)
    last_status = ""
    try:
        async with _client(settings, PULL_TIMEOUT) as client:
            async for part in await client.pull(model, stream=True):
                progress = PullProgress(
                    status=part.status or "", completed=part.completed, total=part.total, digest=part.digest
                )
                last_status = progress.status
                log_progress(progress)
                if progress_cb is not None:
                    outcome = progress_cb(progress)
                    if inspect.isawaitable(outcome):
                        await outcome
    except ResponseError as exc:
        raise OllamaPullError(f"Ollama at {host} could not pull {model!r}: {exc.error}") from exc
    except (ConnectionError, httpx.HTTPError) as exc:
        raise OllamaUnavailableError(
            f"Ollama is not reachable at {host} while pulling {model!r} ({type(exc).__name__})"
        ) from exc
    if last_status != "success":
        raise OllamaPullError(f"pull of {model!r} from {host} ended without success (last: {last_status!r})")


async def ensure_model(settings: Settings, progress_cb: ProgressCallback | None = None) -> bool:
    """Make sure the configured model is on the server; True when it had to be pulled now.

    Pulls only when `settings.ollama_pull` is true; otherwise a missing model is an
    `OllamaModelMissingError` that says how to fix it.
    """
    if await has_model(settings):
        return False
    model = settings.ollama_model
    host = ollama_host(settings.ollama_base_url)
    if not settings.ollama_pull:
        raise OllamaModelMissingError(
            f"Ollama model {model!r} is not pulled on {host}: run `ollama pull {model}` there, "
            "or set TASKTRACKER_OLLAMA_PULL=true to pull it at start"
        )
    log.info("ollama model %s is missing on %s; pulling it", model, host)
    await pull_model(settings, progress_cb)
    if not await has_model(settings):
        raise OllamaPullError(f"Ollama at {host} reported a successful pull but does not list {model!r}")
    return True
