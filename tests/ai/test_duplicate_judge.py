"""The LLM as a second opinion on duplicate close calls (`ai/duplicate_judge.py`), against the fake
Ollama server: only close calls reach it, its "same" links and "different" does not, a failure or a
timeout is no link and never fails the job, and the gate turns it on only where it has earned it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_ollama import Delay, HttpError, reply
from sqlalchemy import select

from tasktracker.ai.duplicate_judge import (
    LLMDuplicateJudge,
    Rates,
    SecondOpinion,
    SecondOpinionReport,
    build_second_opinion,
)
from tasktracker.api.app import create_app
from tasktracker.classification import duplicates
from tasktracker.classification.duplicate_index import CandidateSet, Prepared
from tasktracker.health import readiness
from tasktracker.models import Task
from tasktracker.runtime import Role, Runtime, build_runtime
from tasktracker.worker.batch import ClassifyGroups
from tests.support.app import ScriptedClassifier, get_json, serve

MODEL = "qwen2.5:3b-instruct"
DARK_MODE = "feature: dark mode in the web dashboard"  # a close call for NIGHT_THEME (score ~0.52)
NIGHT_THEME = "feature: a night theme for the browser version of the dashboard please"
NOTIFICATIONS = "feature: browser notifications in the dashboard"  # also close (~0.62), and different
SSO = "feature: allow SSO via okta saml for enterprise accounts and auditors"  # far from all
SAME = reply({"verdict": "same", "reason": "both ask for a dark theme"})
DIFFERENT = reply({"verdict": "different", "reason": "another feature"})


def _settings(make_settings: Any, fake_ollama: Any, **overrides: Any) -> Any:
    fake_ollama.add_model(MODEL)
    values = {
        "classifier": "ollama",
        "ollama_base_url": fake_ollama.base_url,
        "ollama_model": MODEL,
        "ollama_timeout_s": 2.0,
        "ollama_retries": 0,
        "llm_concurrency": 1,
    }
    return make_settings(**(values | overrides))


def _decided(enabled: bool) -> SecondOpinionReport:
    rates = Rates(precision=1.0, recall=0.5, linked_right=1, linked_wrong=0, across_recall=None)
    return SecondOpinionReport(
        llm_model=f"ollama:{MODEL}", prompt_version="duplicate-v1", pairs=4, duplicates=2,
        across_duplicates=0, threshold=0.75, band=0.2, asked=2, said_same=1, errors=0,
        alone=rates, with_llm=rates, enabled=enabled, reason="measured in the test",
    )  # fmt: skip


async def _store(settings: Any, contents: list[str], start: int = 0) -> list[int]:
    app = create_app(settings, role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        items = [
            {"content": c, "channel": "dup", "external_id": f"d{start + i}"} for i, c in enumerate(contents)
        ]
        answer = await client.post("/api/messages/batch", json={"messages": items})
        assert answer.status_code == 202, answer.text
        return [m["id"] for m in answer.json()["data"]]


async def _worker(settings: Any, *, enabled: bool = True) -> tuple[Runtime, ClassifyGroups]:
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    opinion = SecondOpinion(LLMDuplicateJudge(settings), settings)
    opinion.report = _decided(enabled)  # the gate is tested on its own below
    runtime.duplicate_judge = opinion
    return runtime, ClassifyGroups(runtime, max_batch=64)


async def _open_tasks(settings: Any, groups: ClassifyGroups, texts: list[str]) -> dict[str, int]:
    """Tasks of `texts`, made with the second opinion off (they would be close calls of each other)."""
    opinion = groups.runtime.duplicate_judge
    assert opinion is not None
    report, opinion.report = opinion.report, _decided(False)
    outcomes = [await groups.submit(m) for m in await _store(settings, texts)]
    opinion.report = report
    assert all(o.task_created for o in outcomes)
    return {text: o.task_id for text, o in zip(texts, outcomes, strict=True) if o.task_id is not None}


def _asked(fake_ollama: Any) -> list[str]:
    return [json.dumps(r.body, ensure_ascii=False) for r in fake_ollama.chat_requests()]


async def test_only_close_calls_reach_the_llm_and_its_same_links(make_settings, fake_ollama) -> None:
    settings = _settings(make_settings, fake_ollama)
    runtime, groups = await _worker(settings)
    try:
        tasks = await _open_tasks(settings, groups, [DARK_MODE, SSO])
        fake_ollama.script(SAME)
        ids = await _store(settings, [NIGHT_THEME, f"{SSO}!", "hello all"], start=10)
        outcomes = await asyncio.gather(*(groups.submit(m) for m in ids))
    finally:
        await runtime.stop()
    [asked] = _asked(fake_ollama)  # one call: the close call, not the lexical repeat nor the noise
    assert DARK_MODE in asked and NIGHT_THEME in asked and SSO not in asked
    assert outcomes[0].duplicate_of == tasks[DARK_MODE] and not outcomes[0].task_created
    assert outcomes[1].duplicate_of == tasks[SSO]  # the matcher's own link
    assert outcomes[2].task_id is None
    assert runtime.duplicate_judge is not None and runtime.duplicate_judge.linked == 1


async def test_a_different_answer_links_nothing(make_settings, fake_ollama) -> None:
    settings = _settings(make_settings, fake_ollama)
    runtime, groups = await _worker(settings)
    try:
        await _open_tasks(settings, groups, [DARK_MODE])
        fake_ollama.script(DIFFERENT)
        [outcome] = [await groups.submit(m) for m in await _store(settings, [NIGHT_THEME], start=10)]
    finally:
        await runtime.stop()
    assert len(_asked(fake_ollama)) == 1
    assert outcome.task_created and outcome.duplicate_of is None


@pytest.mark.parametrize("failure", ["error", "timeout"])
async def test_an_llm_failure_is_no_link_and_the_job_succeeds(make_settings, fake_ollama, failure) -> None:
    from prometheus_client import REGISTRY

    settings = _settings(make_settings, fake_ollama, duplicate_llm_timeout_s=0.3)
    label = {"answer": "failed" if failure == "error" else "late"}
    before = REGISTRY.get_sample_value("tasktracker_duplicate_opinions_total", label) or 0
    runtime, groups = await _worker(settings)
    try:
        await _open_tasks(settings, groups, [DARK_MODE])
        fake_ollama.script(HttpError(500, "boom") if failure == "error" else Delay(1.5, SAME))
        [outcome] = [await groups.submit(m) for m in await _store(settings, [NIGHT_THEME], start=10)]
        async with runtime.sessions() as session:
            tasks = (await session.scalars(select(Task))).all()
    finally:
        await runtime.stop()
    assert outcome.task_created and outcome.duplicate_of is None and not outcome.skipped
    assert len(tasks) == 2
    assert runtime.duplicate_judge is not None and runtime.duplicate_judge.failed == 1
    assert REGISTRY.get_sample_value("tasktracker_duplicate_opinions_total", label) == before + 1


async def test_at_most_k_best_scored_close_calls_per_message(make_settings, fake_ollama) -> None:
    settings = _settings(make_settings, fake_ollama, duplicate_llm_candidates=1, llm_concurrency=2)
    runtime, groups = await _worker(settings)
    try:
        await _open_tasks(settings, groups, [DARK_MODE, NOTIFICATIONS, SSO])
        fake_ollama.script(DIFFERENT)
        [outcome] = [await groups.submit(m) for m in await _store(settings, [NIGHT_THEME], start=10)]
    finally:
        await runtime.stop()
    [asked] = _asked(fake_ollama)  # the best-scored close call only, not one call per open task
    assert NOTIFICATIONS in asked and DARK_MODE not in asked
    assert outcome.task_created


async def test_a_gate_that_said_no_means_no_call(make_settings, fake_ollama) -> None:
    settings = _settings(make_settings, fake_ollama)
    runtime, groups = await _worker(settings, enabled=False)
    try:
        await _open_tasks(settings, groups, [DARK_MODE])
        [outcome] = [await groups.submit(m) for m in await _store(settings, [NIGHT_THEME], start=10)]
    finally:
        await runtime.stop()
    assert _asked(fake_ollama) == [] and outcome.task_created


async def test_the_one_job_path_asks_too(make_settings, fake_ollama) -> None:
    from tasktracker.worker.jobs import classify_message

    settings = _settings(make_settings, fake_ollama)
    runtime, groups = await _worker(settings)
    try:
        tasks = await _open_tasks(settings, groups, [DARK_MODE])
        fake_ollama.script(SAME)
        [message_id] = await _store(settings, [NIGHT_THEME], start=10)
        outcome = await classify_message(runtime, message_id)
    finally:
        await runtime.stop()
    assert outcome.duplicate_of == tasks[DARK_MODE]


# The gate ---------------------------------------------------------------------------------------------------


def _pairs(path: Path) -> Path:
    rows = [
        {"a": DARK_MODE, "b": NIGHT_THEME, "duplicate": True},  # a close call, a repeat
        {"a": NOTIFICATIONS, "b": NIGHT_THEME, "duplicate": False},  # a close call, different
        {"a": "the login page is broken on Safari", "b": "login page broken on safari", "duplicate": True},
        {"a": "renew the TLS certificate of the API", "b": NIGHT_THEME, "duplicate": False},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("good", [True, False])
async def test_the_gate_enables_the_llm_only_when_it_raises_recall_at_precision(
    make_settings, fake_ollama, tmp_path, good
) -> None:
    settings = _settings(make_settings, fake_ollama, classifier="auto")
    pairs = [_pairs(tmp_path / "pairs.jsonl")]
    fake_ollama.script(SAME, DIFFERENT if good else SAME)
    opinion = SecondOpinion(LLMDuplicateJudge(settings), settings, pairs=pairs)
    try:
        report = await opinion.wait_decided()
    finally:
        await opinion.aclose()
    assert report is not None and report.asked == 2 and report.errors == 0
    assert (report.alone.precision, report.alone.recall) == (1.0, 0.5)
    assert report.with_llm.recall == 1.0
    assert report.with_llm.precision == (1.0 if good else pytest.approx(2 / 3))
    assert opinion.enabled is good and report.enabled is good
    assert opinion.status.startswith("on: " if good else "off: ")
    if not good:
        assert "lowers precision below 0.95" in opinion.status
    # Cached per model + prompt version: a restart decides without asking the LLM again.
    asked = len(fake_ollama.chat_requests())
    again = SecondOpinion(LLMDuplicateJudge(settings), settings, pairs=pairs)
    try:
        assert await again.wait_decided() == report
    finally:
        await again.aclose()
    assert len(fake_ollama.chat_requests()) == asked
    assert len(list((settings.data_dir / "models").glob("dup-judge-*.json"))) == 1


async def test_a_failing_llm_does_not_pass_the_gate(make_settings, fake_ollama, tmp_path) -> None:
    settings = _settings(make_settings, fake_ollama, classifier="auto")
    fake_ollama.script(HttpError(500), SAME)
    opinion = SecondOpinion(LLMDuplicateJudge(settings), settings, pairs=[_pairs(tmp_path / "p.jsonl")])
    try:
        report = await opinion.wait_decided()
    finally:
        await opinion.aclose()
    assert report is not None and report.errors == 1 and not opinion.enabled
    assert "failed 1 of 2 close calls" in opinion.status


async def test_forced_on_is_used_before_the_gate_decides_and_off_builds_nothing(
    make_settings, dead_ollama_url
) -> None:
    forced = make_settings(classifier="builtin", duplicate_llm="on", ollama_base_url=dead_ollama_url)
    opinion = build_second_opinion(forced)
    assert opinion is not None
    try:
        assert opinion.enabled and opinion.status.startswith("on (forced by TASKTRACKER_DUPLICATE_LLM=on")
        # The LLM is unreachable: the message is matched without a second opinion, nothing raises.
        calls = {1: (NIGHT_THEME, [duplicates.CloseCall(7, DARK_MODE, 0.52)])}
        assert await opinion.review(calls) == {} and opinion.failed == 1
    finally:
        await opinion.aclose()
    assert build_second_opinion(make_settings(classifier="ollama", duplicate_llm="off")) is None
    assert build_second_opinion(make_settings(classifier="builtin")) is None  # auto without an LLM


async def test_readiness_and_config_say_whether_the_llm_judges_duplicates(
    make_settings, dead_ollama_url
) -> None:
    settings = make_settings(classifier="auto", ollama_base_url=dead_ollama_url)
    expected = f"off until ollama:{settings.ollama_model} is measured on the tuning pairs"
    app = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        runtime = app.state.runtime
        runtime.duplicate_judge = build_second_opinion(settings)
        ready = await readiness(runtime)
        config = await get_json(client, "/api/config")
    assert ready.checks["duplicate_llm"] == expected
    assert config["duplicate_llm_status"] == expected


# The close-call band ----------------------------------------------------------------------------------------


def test_the_index_finds_the_close_calls_the_plain_matcher_finds() -> None:
    from tasktracker.ai.duplicate_judge import tuning_pairs

    pairs = tuning_pairs("")
    tasks = [(i, p.a) for i, p in enumerate(pairs[:200])]
    index = CandidateSet([(i, Prepared.of(text)) for i, text in tasks])
    for pair in pairs[:30]:
        plain = duplicates.close_calls(pair.b, tasks, 0.2, 0.75, 3)
        assert index.close_calls(pair.b, 0.2, 0.75, 3) == plain
        # A close call is never a pair the matcher links, nor one with a slot conflict.
        match = duplicates.best_match(pair.b, tasks, 0.75)
        assert all(match is None or task_id != match[0] for task_id, _ in plain)


# The command ------------------------------------------------------------------------------------------------


def test_eval_duplicates_with_the_llm_prints_both_and_writes_them(fake_ollama, tmp_path, monkeypatch) -> None:
    import typer
    from typer.testing import CliRunner

    from tasktracker.ai.duplicates_eval import register

    fake_ollama.add_model(MODEL)
    fake_ollama.script(SAME, DIFFERENT)
    for name, value in {
        "OLLAMA_BASE_URL": fake_ollama.base_url,
        "TASKTRACKER_OLLAMA_MODEL": MODEL,
        "TASKTRACKER_LLM_CONCURRENCY": "1",
        "TASKTRACKER_OLLAMA_RETRIES": "0",
        "TASKTRACKER_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(name, value)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: typer keeps the subcommand name
    out = tmp_path / "report.json"
    data = _pairs(tmp_path / "pairs.jsonl")
    result = CliRunner().invoke(
        app, ["eval-duplicates", "--data", str(data), "--model", "ollama", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "matcher + LLM" in result.output and "the gate would say: on" in result.output
    opinion = json.loads(out.read_text())["second_opinion"]
    assert (
        opinion["asked"] == 2 and opinion["alone"]["recall"] == 0.5 and opinion["with_llm"]["recall"] == 1.0
    )


def test_the_gate_leaves_out_the_pairs_the_prompt_shows_and_never_reads_the_check_pairs() -> None:
    from tasktracker.ai.duplicate_judge import PROMPT_NAME, TUNING_PAIRS, tuning_pairs
    from tasktracker.ai.prompts import load_prompt

    prompt = load_prompt(PROMPT_NAME).text
    everything, kept = tuning_pairs(""), tuning_pairs(prompt)
    assert len(everything) - len(kept) == 8  # every example of the prompt is a tuning pair, left out
    assert all(f"<task>{p.a}</task>\n<message>{p.b}</message>" not in prompt for p in kept)
    assert "duplicates_check.jsonl" not in TUNING_PAIRS
