"""Model management with the official `ollama` client against the fake server over real HTTP."""

import pytest

from tasktracker.ai.ollama_models import (
    OllamaModelMissingError,
    OllamaPullError,
    OllamaUnavailableError,
    PullProgress,
    ensure_model,
    full_model_name,
    has_model,
    list_local_models,
    ollama_host,
)

MODEL = "qwen2.5:3b-instruct"


async def test_lists_local_models_in_canonical_form(fake_ollama, ollama_settings):
    fake_ollama.add_model(MODEL)
    fake_ollama.add_model("llama3.2")
    assert await list_local_models(ollama_settings()) == ["llama3.2:latest", MODEL]


async def test_model_without_a_tag_means_latest(fake_ollama, ollama_settings):
    fake_ollama.add_model("llama3.2:latest")
    assert await has_model(ollama_settings(ollama_model="llama3.2"))
    assert not await has_model(ollama_settings(ollama_model="llama3.2:1b"))


async def test_present_model_is_not_pulled(fake_ollama, ollama_settings):
    fake_ollama.add_model(MODEL)
    assert await ensure_model(ollama_settings(ollama_pull=True)) is False
    assert fake_ollama.requests_to("/api/pull") == []


async def test_missing_model_is_pulled_with_progress(fake_ollama, ollama_settings, caplog):
    seen: list[PullProgress] = []
    caplog.set_level("INFO", logger="tasktracker.ai.ollama_models")

    async def on_progress(progress: PullProgress) -> None:
        seen.append(progress)

    assert await ensure_model(ollama_settings(ollama_pull=True), on_progress) is True

    [pull] = fake_ollama.requests_to("/api/pull")
    assert pull.body["model"] == MODEL and pull.body["stream"] is True
    statuses = [p.status for p in seen]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    percents = [p.percent for p in seen if p.percent is not None]
    assert percents == sorted(percents) and percents[0] > 0 and percents[-1] == 100.0
    assert len(percents) == fake_ollama.pull_chunks
    assert await list_local_models(ollama_settings()) == [MODEL]
    assert any("100%" in message for message in caplog.messages)


async def test_missing_model_with_pull_disabled_is_a_clear_error(fake_ollama, ollama_settings):
    with pytest.raises(OllamaModelMissingError) as caught:
        await ensure_model(ollama_settings(ollama_pull=False))
    message = str(caught.value)
    assert f"ollama pull {MODEL}" in message and "TASKTRACKER_OLLAMA_PULL=true" in message
    assert fake_ollama.requests_to("/api/pull") == []


async def test_pull_that_fails_on_the_server_is_reported(fake_ollama, ollama_settings):
    fake_ollama.registry = {"llama3.2"}
    with pytest.raises(OllamaPullError, match="file does not exist"):
        await ensure_model(ollama_settings(ollama_pull=True))
    assert await list_local_models(ollama_settings()) == []


async def test_unreachable_server_is_a_clear_error(dead_ollama_url, ollama_settings):
    with pytest.raises(OllamaUnavailableError, match="not reachable"):
        await ensure_model(ollama_settings(dead_ollama_url, ollama_pull=True))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://ollama:11434", "http://ollama:11434"),
        ("http://ollama:11434/", "http://ollama:11434"),
        ("http://ollama:11434/v1", "http://ollama:11434"),
        ("https://gpu.example/ollama/v1/", "https://gpu.example/ollama"),
    ],
)
def test_native_api_host_has_no_v1(url, host):
    assert ollama_host(url) == host


def test_full_model_name():
    assert full_model_name("llama3.2") == "llama3.2:latest"
    assert full_model_name("qwen2.5:3b") == "qwen2.5:3b"
    assert full_model_name("registry.example:5000/team/model") == "registry.example:5000/team/model:latest"


async def test_an_openai_compatible_server_without_the_ollama_api_is_ready_when_it_lists_the_model():
    """llama-cpp-python's server has no /api/tags; its /v1/models says which model it serves."""
    from fastapi import FastAPI

    from tasktracker.ai.ollama_models import has_model
    from tasktracker.config import Settings
    from tests.support.app import serve

    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, object]:
        return {"object": "list", "data": [{"id": "smollm2", "object": "model"}]}

    async with serve(app) as base:
        assert await has_model(Settings(ollama_base_url=base, ollama_model="smollm2")) is True
        assert await has_model(Settings(ollama_base_url=base, ollama_model="qwen2.5:3b")) is False
