"""Classify a message with a local LLM served by Ollama, through a pydantic-ai agent.

How the request is made, and why:

- Ollama's OpenAI-compatible API (`<base>/v1`, `OllamaModel` + `OllamaProvider`) with
  **NativeOutput**: the JSON schema goes in `response_format`, which Ollama >= 0.5 enforces while
  generating. Tool-call output fails often on small local models.
- `temperature=0`; `openai_reasoning_effort="none"`, which Ollama's `/v1` maps to `think: false`, so a
  reasoning model (qwen3, deepseek-r1, ...) answers in `content` instead of spending the budget
  thinking. (`extra_body={"think": false}` would be ignored on `/v1`, and pydantic-ai's unified
  `thinking=False` is only forwarded for models whose profile says they think.) Servers before
  reasoning support ignore the field.
- Output checked by `guard.guard_output` in an output validator: a rejected answer raises `ModelRetry`
  and the agent asks again, at most `settings.ollama_retries` times.
- `timeout` (per HTTP attempt) and `request_timeout` (per model request) are
  `settings.ollama_timeout_s`, the SDK makes no retries of its own (`max_retries=0`: the fallback chain
  owns retrying), and the whole run, retries included, has a deadline too.
- At most `settings.llm_concurrency` runs at a time per instance (make one per process).
- The message goes in as data, in `<message>…</message>` rendered by `pydantic_ai.framing.wrap`, which
  escapes anything in the text that would open or close that tag (or pydantic-ai's own `<system>`).
  pydantic-ai also adds its own note (a `<system>` block in a user turn, with a short explanation in the
  system prompt) when the text imitates its frames; that default is kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Self

from pydantic import BaseModel, ValidationError
from pydantic_ai import (
    Agent,
    ModelAPIError,
    ModelHTTPError,
    ModelRequestTimeout,
    ModelRetry,
    ModelTimeoutError,
    NativeOutput,
    PromptedOutput,
    RunContext,
    UnexpectedModelBehavior,
)
from pydantic_ai.exceptions import (
    ModelConnectionError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelServerError,
    ModelUnavailableError,
)
from pydantic_ai.framing import register_tag, wrap
from pydantic_ai.models import create_async_httpx2_client
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.models.openai import OpenAIChatModelSettings
from pydantic_ai.providers.ollama import OllamaProvider

from tasktracker.ai.base import ClassifierError
from tasktracker.ai.guard import ModelAnswer, OutputRejected, guard_output
from tasktracker.ai.ollama_models import OllamaModelsError, has_model
from tasktracker.ai.prompts import load_prompt
from tasktracker.classification.schemas import Classification
from tasktracker.config import Settings, normalise_ollama_url

log = logging.getLogger(__name__)

PROMPT_NAME = "classify_v2"
MESSAGE_TAG = register_tag("message")


class LLMError(ClassifierError):
    """The LLM gave no usable answer. `reason` is a short label for logs and the fallback record."""

    reason = "error"
    transient = False  # worth another attempt after a short wait
    trips_breaker = False  # the server cannot help for a while: stop sending it messages


class LLMTimeout(LLMError):
    reason = "timeout"
    transient = True


class LLMServerError(LLMError):
    reason = "server error"
    transient = True


class LLMUnreachable(LLMError):
    reason = "unreachable"
    trips_breaker = True


class LLMModelMissing(LLMError):
    reason = "model missing"
    trips_breaker = True


class LLMInvalidOutput(LLMError):
    reason = "invalid output"


def message_prompt(text: str) -> str:
    """The user turn: the message as delimited data that cannot close or forge its delimiters."""
    return wrap(MESSAGE_TAG, text)


def llm_model_settings(settings: Settings, answer: type[BaseModel] = ModelAnswer) -> OpenAIChatModelSettings:
    model_settings = OpenAIChatModelSettings(
        temperature=0.0,
        timeout=settings.ollama_timeout_s,
        request_timeout=settings.ollama_timeout_s,
        max_retries=0,
        openai_reasoning_effort="none",
    )
    if settings.llm_response_format == "json_object":
        # llama-cpp-python's server constrains generation to `{"type": "json_object", "schema": ...}`
        # and does not know OpenAI's `json_schema` type; the schema also goes in the prompt.
        model_settings["extra_body"] = {
            "response_format": {"type": "json_object", "schema": answer.model_json_schema()}
        }
    return model_settings


def _output_type(settings: Settings) -> NativeOutput[ModelAnswer] | PromptedOutput[ModelAnswer]:
    name, description = "classification", "How to file one team-chat message"
    if settings.llm_response_format == "json_object":
        return PromptedOutput(ModelAnswer, name=name, description=description)
    return NativeOutput(ModelAnswer, name=name, description=description)


class OllamaClassifier:
    """The `Classifier` backed by an Ollama model. Bound to one event loop; close with `aclose()`."""

    def __init__(self, settings: Settings, *, ready_ttl_s: float = 5.0, ready_timeout_s: float = 2.0) -> None:
        self.settings = settings
        self.model_name = settings.ollama_model
        self.name = f"ollama:{settings.ollama_model}"
        self.base_url = normalise_ollama_url(settings.ollama_base_url)
        prompt = load_prompt(PROMPT_NAME)
        self.prompt_version = prompt.version
        self.system_prompt = prompt.text
        self._http = create_async_httpx2_client()
        provider = OllamaProvider(base_url=self.base_url, api_key="ollama", http_client=self._http)
        self._agent = Agent(
            OllamaModel(settings.ollama_model, provider=provider),
            output_type=_output_type(settings),
            instructions=prompt.text,
            deps_type=str,
            retries={"output": settings.ollama_retries, "tools": 0},
            model_settings=llm_model_settings(settings),
            name="classify",
        )
        self._agent.output_validator(self._check_answer)
        # Shared with the duplicate judge (`duplicate_judge.py`): one limit for all LLM calls of a process.
        self.semaphore = asyncio.Semaphore(settings.llm_concurrency)
        self._run_timeout_s = settings.llm_run_timeout_s
        self._ready_ttl_s = ready_ttl_s
        self._ready_timeout_s = ready_timeout_s
        self._ready_cache: tuple[float, bool] | None = None

    @staticmethod
    def _check_answer(ctx: RunContext[str], answer: ModelAnswer) -> ModelAnswer:
        try:
            checked = guard_output(answer, ctx.deps)
        except OutputRejected as exc:
            raise ModelRetry(f"{exc}. Answer again with the JSON object only.") from exc
        return ModelAnswer.model_validate(checked.model_dump(mode="json"))

    async def classify(self, text: str) -> Classification:
        async with self.semaphore:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._run_timeout_s):
                    result = await self._agent.run(message_prompt(text), deps=text)
                return Classification(
                    **result.output.model_dump(),
                    model=self.name,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    prompt_version=self.prompt_version,
                )
            except Exception as exc:
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from exc

    def _translate(self, exc: Exception) -> Exception:
        where = f"{self.name} at {self.base_url}"
        match exc:
            case LLMError():
                return exc
            case ModelRequestTimeout() | ModelTimeoutError() | TimeoutError():
                return LLMTimeout(f"{where} did not answer in time")
            case ModelConnectionError(phase="connect" | "pool") | ModelConnectionError(phase=None):
                return LLMUnreachable(f"cannot connect to {where}")
            case ModelConnectionError():
                return LLMServerError(f"{where} dropped the connection")
            case ModelNotFoundError() | ModelHTTPError(status_code=404):
                return LLMModelMissing(
                    f"{where}: model {self.model_name!r} not found (pull it with `ollama pull "
                    f"{self.model_name}` or set TASKTRACKER_OLLAMA_PULL=true; check that the URL is Ollama's)"
                )
            case ModelServerError() | ModelUnavailableError() | ModelRateLimitError():
                return LLMServerError(f"{where} failed: {exc}")
            case ModelAPIError():
                return LLMError(f"{where} rejected the request: {exc}")
            case UnexpectedModelBehavior() | ValidationError():
                return LLMInvalidOutput(f"{where} gave no valid classification: {exc}")
            case _:
                return exc

    async def ready(self) -> bool:
        """True when the server answers /api/tags and lists the model (cached for `ready_ttl_s`)."""
        now = time.monotonic()
        if self._ready_cache is not None and now - self._ready_cache[0] < self._ready_ttl_s:
            return self._ready_cache[1]
        try:
            ok = await has_model(self.settings, timeout_s=self._ready_timeout_s)
        except OllamaModelsError as exc:
            log.debug("ollama not ready: %s", exc)
            ok = False
        self._ready_cache = (time.monotonic(), ok)
        return ok

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
