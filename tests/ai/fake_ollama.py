"""A small Ollama stand-in that speaks real HTTP on 127.0.0.1, for tests of the LLM path.

It serves the parts of the Ollama API the product uses:

- `GET /api/tags`: the models in `FakeOllama.models`;
- `POST /api/pull`: streamed NDJSON progress (manifest, download with total/completed, success), after
  which the model is listed; a model not in `registry` (when that is set) streams an error line;
- `POST /api/chat` (native) and `POST /v1/chat/completions` (OpenAI format): the next scripted step.

A chat for a model that is not present answers 404 with Ollama's message
`model "x" not found, try pulling it first` (plain `{"error": ...}` on `/api`, OpenAI's error object on
`/v1`, as the real server does). Each test scripts what the chat endpoints answer with `script(...)`:
`reply(obj)` (JSON content), `text(...)` (any content, e.g. invalid JSON), `Delay(seconds)` (to cause a
timeout) and `HttpError(status, message)`. An empty script answers 500, so a test never passes on a reply
it did not ask for. Every request is recorded in `requests` for the test to inspect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Reply:
    """Answer with this assistant content (and optionally a reasoning/thinking text)."""

    content: str
    reasoning: str = ""


@dataclass(frozen=True)
class Delay:
    """Wait this long before answering with `then` (a timeout in the client usually comes first)."""

    seconds: float
    then: Reply | HttpError | None = None


@dataclass(frozen=True)
class HttpError:
    """Answer with this HTTP status and error message."""

    status: int
    message: str = "internal error"


Step = Reply | Delay | HttpError


def reply(payload: dict[str, Any]) -> Reply:
    """A reply whose content is `payload` as JSON, as a schema-constrained model would answer."""
    return Reply(json.dumps(payload, ensure_ascii=False))


def text(content: str) -> Reply:
    """A reply with arbitrary content, e.g. text that is not JSON."""
    return Reply(content)


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    at: float = field(default_factory=time.monotonic)


def _full_name(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class FakeOllama:
    """State of the fake server; safe to use from the test thread while the server thread runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.base_url = ""
        self.reset()

    # Scripting and inspection (test side) ---------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.models: set[str] = set()
            self.registry: set[str] | None = None  # None: every model can be pulled
            self.pull_chunks = 4
            self._script: deque[Step] = deque()
            self.requests: list[RecordedRequest] = []
            self.in_flight = 0
            self.max_in_flight = 0

    def add_model(self, name: str) -> None:
        with self._lock:
            self.models.add(_full_name(name))

    def script(self, *steps: Step) -> None:
        with self._lock:
            self._script.extend(steps)

    @property
    def unused_steps(self) -> int:
        with self._lock:
            return len(self._script)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path in ("/v1/chat/completions", "/api/chat")]

    # Server side ------------------------------------------------------------------------------------

    def _record(self, method: str, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, body))

    def _next_step(self) -> Step | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _has_model(self, name: str) -> bool:
        with self._lock:
            return _full_name(name) in self.models

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def _not_found(model: str) -> str:
    return f'model "{model}" not found, try pulling it first'


def _openai_error(status: int, message: str) -> JSONResponse:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


def build_app(state: FakeOllama) -> Starlette:
    async def tags(request: Request) -> Response:
        state._record("GET", "/api/tags", None)
        with state._lock:
            names = sorted(state.models)
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 1_000_000,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "qwen2", "parameter_size": "3B"},
            }
            for name in names
        ]
        return JSONResponse({"models": models})

    async def pull(request: Request) -> Response:
        body = await _json_body(request)
        state._record("POST", "/api/pull", body)
        name = _full_name(str((body or {}).get("model") or (body or {}).get("name") or ""))
        with state._lock:
            known = state.registry is None or name in {_full_name(m) for m in state.registry}
            chunks = state.pull_chunks

        async def progress() -> AsyncIterator[bytes]:
            yield b'{"status":"pulling manifest"}\n'
            if not known:
                yield b'{"error":"pull model manifest: file does not exist"}\n'
                return
            total = 4_000_000
            digest = "sha256:" + "ab" * 32
            for i in range(1, chunks + 1):
                await asyncio.sleep(0)
                line = {"status": f"pulling {digest[7:19]}", "digest": digest, "total": total}
                line["completed"] = total * i // chunks
                yield (json.dumps(line) + "\n").encode()
            for status in ("verifying sha256 digest", "writing manifest"):
                yield (json.dumps({"status": status}) + "\n").encode()
            state.add_model(name)
            yield b'{"status":"success"}\n'

        return StreamingResponse(progress(), media_type="application/x-ndjson")

    async def scripted(request: Request, path: str, openai: bool) -> Response:
        body = await _json_body(request)
        state._record("POST", path, body)
        model = str((body or {}).get("model") or "")
        if not state._has_model(model):
            if openai:
                return _openai_error(404, _not_found(model))
            return JSONResponse({"error": _not_found(model)}, 404)
        if (body or {}).get("stream") and openai:
            return _openai_error(400, "fake ollama: streaming is not scripted")
        state._enter()
        try:
            step = state._next_step()
            if isinstance(step, Delay):
                await asyncio.sleep(step.seconds)
                step = step.then
        finally:
            state._leave()
        if step is None:
            message = "fake ollama: no scripted reply left"
            return _openai_error(500, message) if openai else JSONResponse({"error": message}, 500)
        if isinstance(step, HttpError):
            if openai:
                return _openai_error(step.status, step.message)
            return JSONResponse({"error": step.message}, step.status)
        assert isinstance(step, Reply)
        if openai:
            message: dict[str, Any] = {"role": "assistant", "content": step.content}
            if step.reasoning:
                message["reasoning"] = step.reasoning
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "system_fingerprint": "fp_ollama",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
            )
        native = {"role": "assistant", "content": step.content}
        if step.reasoning:
            native["thinking"] = step.reasoning
        return JSONResponse(
            {
                "model": model,
                "created_at": "2025-01-01T00:00:00Z",
                "message": native,
                "done": True,
                "done_reason": "stop",
            }
        )

    async def openai_chat(request: Request) -> Response:
        return await scripted(request, "/v1/chat/completions", openai=True)

    async def native_chat(request: Request) -> Response:
        return await scripted(request, "/api/chat", openai=False)

    async def root(request: Request) -> Response:
        return Response("Ollama is running")

    return Starlette(
        routes=[
            Route("/", root),
            Route("/api/tags", tags),
            Route("/api/pull", pull, methods=["POST"]),
            Route("/api/chat", native_chat, methods=["POST"]),
            Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        ]
    )


class FakeOllamaServer:
    """Runs the fake on an ephemeral 127.0.0.1 port in a background thread."""

    def __init__(self) -> None:
        self.state = FakeOllama()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.state.base_url = self.url
        config = uvicorn.Config(
            build_app(self.state),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fake-ollama", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> FakeOllamaServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake ollama server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()


def unused_local_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
