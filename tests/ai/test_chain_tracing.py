"""The classifier chain in a trace: each LLM attempt is a span, and so is the built-in model's answer."""

from fake_ollama import HttpError
from opentelemetry.trace import StatusCode

from tasktracker import telemetry
from tasktracker.ai.builtin import BuiltinClassifier
from tasktracker.ai.chain import FallbackClassifier
from tasktracker.ai.llm import OllamaClassifier
from tests.support.tracing import named, one, parent_id, recorded_spans

MODEL = "qwen2.5:3b-instruct"


async def test_failed_llm_attempts_and_the_fallback_are_spans(fake_ollama, ollama_settings, tmp_path):
    fake_ollama.add_model(MODEL)
    fake_ollama.script(HttpError(503, "server busy"), HttpError(503, "still busy"))
    builtin = BuiltinClassifier.load_or_train(tmp_path)
    chain = FallbackClassifier(OllamaClassifier(ollama_settings()), builtin, retries=1, backoff_s=0.01)
    try:
        with recorded_spans() as spans, telemetry.span("messages.classify"):
            result = await chain.classify("The login page is broken")
    finally:
        await chain.aclose()

    job = one(spans, "messages.classify")
    attempts = named(spans, "classifier.llm")
    assert [s.attributes and s.attributes["classifier.attempt"] for s in attempts] == [1, 2]
    for attempt in attempts:
        assert parent_id(attempt) == job.context.span_id
        assert attempt.attributes is not None and attempt.attributes["classifier.model"] == f"ollama:{MODEL}"
        assert attempt.status.status_code is StatusCode.ERROR
        assert [e.name for e in attempt.events] == ["exception"]
    assert job.attributes is not None and job.attributes["classifier.fallback_reason"] == "server error"
    fallback = one(spans, "classifier.builtin")
    assert parent_id(fallback) == job.context.span_id
    assert fallback.attributes is not None and fallback.attributes["classifier.model"] == builtin.model_id
    assert result.model == builtin.model_id + "+fallback"
