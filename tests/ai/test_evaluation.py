"""`tasktracker eval` / `tasktracker retrain` and the metrics behind them."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fake_ollama import reply
from typer.testing import CliRunner

from tasktracker.ai.base import ClassifierError
from tasktracker.ai.builtin import BuiltinClassifier, LabelledExample
from tasktracker.ai.cli import register
from tasktracker.ai.evaluation import evaluate
from tasktracker.classification.schemas import Category, Classification, Priority
from tasktracker.config import get_settings

ROWS = [
    {"text": "the dashboard returns 500 for everyone", "category": "bug", "priority": "urgent", "lang": "en"},
    {"text": "додайте експорт у pdf, будь ласка", "category": "feature", "priority": "medium", "lang": "uk"},
    {
        "text": "как получить доступ к sentry?",
        "category": "question",
        "priority": "medium",
        "actionable": False,
        "lang": "ru",
    },
    {
        "text": "please renew the TLS certificate by friday",
        "category": "task",
        "priority": "high",
        "lang": "en",
    },
    {
        "text": "thanks, that worked 🙏",
        "category": "noise",
        "priority": "low",
        "actionable": False,
        "lang": "en",
    },
    {"text": "всем хороших выходных!", "category": "noise", "priority": "low", "lang": "ru"},
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the built-in model already cached, so each command only loads it."""
    path = tmp_path_factory.mktemp("eval-data")
    BuiltinClassifier.load_or_train(path)
    return path


@pytest.fixture
def env(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("TASKTRACKER_DATA_DIR", str(model_dir))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def make_app(load_corrections=None) -> typer.Typer:
    app = typer.Typer()
    register(app, load_corrections=load_corrections)
    return app


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


# The command ------------------------------------------------------------------------------------------


def test_eval_writes_the_json_report_and_the_confusion_plot(env, tmp_path):
    data = write_rows(tmp_path / "tiny.jsonl", ROWS)
    out, plot = tmp_path / "out" / "report.json", tmp_path / "out" / "confusion.png"

    result = CliRunner().invoke(
        make_app(), ["eval", "--data", str(data), "--out", str(out), "--plot", str(plot)]
    )

    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output and "priority accuracy" in result.output
    report = json.loads(out.read_text())
    assert report["model"].startswith("builtin-")
    assert report["examples"] == 6 and report["errors"] == 0
    assert report["macro_f1"] == 1.0
    assert sum(map(sum, report["confusion"])) == 6
    assert set(report["by_language"]) == {"en", "uk", "ru"}
    assert report["latency_ms_p99"] >= report["latency_ms_p50"] > 0
    assert report["batch_throughput_per_s"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_eval_defaults_to_the_bundled_dev_set_and_honours_limit(env, tmp_path):
    out = tmp_path / "report.json"

    result = CliRunner().invoke(make_app(), ["eval", "--limit", "20", "--out", str(out)])

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["examples"] == 20 and report["data"] == "bundled dev.jsonl"


def test_eval_sample_spreads_over_the_file(env, tmp_path):
    out = tmp_path / "report.json"

    result = CliRunner().invoke(make_app(), ["eval", "--sample", "25", "--out", str(out)])

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["examples"] == 25
    assert all(metrics["support"] >= 4 for metrics in report["per_class"].values())  # every category


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ('{"text": "ok", "category": "noise", "priority": "low"}\nnot json\n', "tiny.jsonl:2: invalid JSON"),
        (
            '{"text": "ok", "category": "chatter", "priority": "low"}\n',
            "tiny.jsonl:1: unknown category 'chatter'",
        ),
    ],
)
def test_bad_data_exits_2_with_a_one_line_message(env, tmp_path, content, message):
    data = tmp_path / "tiny.jsonl"
    if content is not None:
        data.write_text(content, encoding="utf-8")

    result = CliRunner().invoke(make_app(), ["eval", "--data", str(data)])

    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_unwritable_output_path_exits_2(env, tmp_path):
    data = write_rows(tmp_path / "tiny.jsonl", ROWS)
    blocker = tmp_path / "file"
    blocker.write_text("")

    result = CliRunner().invoke(make_app(), ["eval", "--data", str(data), "--out", str(blocker / "r.json")])

    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_eval_against_an_unreachable_ollama_exits_1(env, tmp_path, dead_ollama_url):
    env.setenv("OLLAMA_BASE_URL", dead_ollama_url)
    data = write_rows(tmp_path / "tiny.jsonl", ROWS)

    result = CliRunner().invoke(make_app(), ["eval", "--model", "ollama", "--data", str(data)])

    assert result.exit_code == 1
    assert "Ollama is not ready" in result.stderr


def test_eval_runs_the_llm_classifier(env, tmp_path, fake_ollama):
    model = "qwen2.5:3b-instruct"
    env.setenv("OLLAMA_BASE_URL", fake_ollama.base_url)
    env.setenv("TASKTRACKER_OLLAMA_MODEL", model)
    env.setenv("TASKTRACKER_OLLAMA_RETRIES", "0")
    fake_ollama.add_model(model)
    answer = {"category": "bug", "priority": "urgent", "actionable": True, "title": "Down", "confidence": 0.9}
    fake_ollama.script(
        reply(answer), reply({**answer, "category": "noise", "priority": "low", "actionable": False})
    )
    data = write_rows(tmp_path / "two.jsonl", [ROWS[0], ROWS[4]])
    out = tmp_path / "report.json"

    result = CliRunner().invoke(
        make_app(), ["eval", "--model", "ollama", "--data", str(data), "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["examples"] == 2 and report["errors"] == 0
    assert report["accuracy"] == 1.0 and report["batch_throughput_per_s"] is None
    assert not report["model"].startswith("builtin")


def test_retrain_uses_the_corrections_hook(env, tmp_path):
    env.setenv("TASKTRACKER_DATA_DIR", str(tmp_path))
    phrase = "the coffee machine on the third floor needs descaling"
    seen = []

    async def load_corrections(settings):
        seen.append(settings.data_dir)
        return [LabelledExample(phrase, Category.task, Priority.medium, True, weight=3.0)]

    result = CliRunner().invoke(make_app(load_corrections), ["retrain"])

    assert result.exit_code == 0, result.output
    assert seen == [tmp_path]
    assert "(1 corrections)" in result.output
    [cached] = (tmp_path / "models").glob("builtin-*.pkl")
    assert cached.name in result.output
    model = BuiltinClassifier.load_or_train(
        tmp_path, [LabelledExample(phrase, Category.task, Priority.medium, True, 3.0)]
    )
    assert model.path == cached
    assert model.classify_batch([phrase])[0].category is Category.task


def test_retrain_reports_a_failing_corrections_hook(env):
    async def load_corrections(settings):
        raise RuntimeError("no such table: corrections\n[SQL: SELECT ...]")

    result = CliRunner().invoke(make_app(load_corrections), ["retrain"])

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: cannot load corrections (RuntimeError: no such table: corrections); is the database migrated?"
    ]


# The metrics ------------------------------------------------------------------------------------------


class TableClassifier:
    """Answers from a fixed table and fails on texts it does not know: known metrics, no model."""

    name = "table"

    def __init__(self, answers: dict[str, tuple[Category, Priority, float]]):
        self.answers = answers

    async def ready(self) -> bool:
        return True

    async def classify(self, text: str) -> Classification:
        if text not in self.answers:
            raise ClassifierError("unknown text")
        category, priority, confidence = self.answers[text]
        return Classification(
            category=category,
            priority=priority,
            actionable=category is not Category.noise,
            title=text[:10],
            confidence=confidence,
            model="table-v1",
            latency_ms=0.0,
        )


async def test_metrics_are_computed_over_the_successful_calls():
    examples = [
        LabelledExample("a", Category.bug, Priority.high, True, lang="en"),
        LabelledExample("b", Category.bug, Priority.low, True, lang="en"),
        LabelledExample("c", Category.feature, Priority.low, True, lang="uk"),
        LabelledExample("d", Category.noise, Priority.low, False, lang="uk"),
        LabelledExample("e", Category.task, Priority.low, True, lang="ru"),
    ]
    classifier = TableClassifier(
        {
            "a": (Category.bug, Priority.high, 0.9),
            "b": (Category.feature, Priority.low, 0.4),
            "c": (Category.feature, Priority.medium, 0.8),
            "d": (Category.bug, Priority.low, 0.3),
        }
    )
    ticks = []

    report = await evaluate(
        classifier, examples, concurrency=2, review_threshold=0.5, on_progress=lambda: ticks.append(1)
    )

    assert len(ticks) == 5
    assert (report.examples, report.errors) == (5, 1)
    assert report.first_error == "ClassifierError: unknown text"
    assert report.accuracy == 0.5
    assert report.priority_accuracy == 0.75
    assert report.actionable_accuracy == 0.75
    assert report.per_class["bug"].precision == 0.5 and report.per_class["bug"].recall == 0.5
    assert report.per_class["feature"].f1 == pytest.approx(2 / 3)
    assert report.confusion[0][:2] == [1, 1]  # expected bug: once bug, once feature
    assert report.review.share_below == 0.5 and report.review.accuracy_above == 1.0
    assert [m.text for m in report.mistakes] == ["b", "d"]
    assert report.by_language["uk"].accuracy == 0.5
    assert report.batch_throughput_per_s is None
    assert report.priority_within_one == 1.0 and report.urgent_recall is None


async def test_priority_metrics_count_steps_urgent_and_the_review_queue():
    examples = [
        LabelledExample("a", Category.bug, Priority.urgent, True),
        LabelledExample("b", Category.bug, Priority.urgent, True),
        LabelledExample("c", Category.bug, Priority.low, True),
        LabelledExample("d", Category.task, Priority.medium, True),
    ]
    classifier = TableClassifier(
        {
            "a": (Category.bug, Priority.urgent, 0.9),
            "b": (Category.bug, Priority.medium, 0.9),  # two steps off: an urgent message missed
            "c": (Category.bug, Priority.urgent, 0.9),  # three steps off
            "d": (Category.task, Priority.high, 0.9),  # one step off
        }
    )

    report = await evaluate(classifier, examples, review_threshold=0.5)

    assert report.priority_accuracy == 0.25 and report.priority_within_one == 0.5
    assert report.urgent_recall == 0.5 and report.urgent_precision == 0.5
    assert report.priority_confusion[3] == [0, 1, 0, 1]  # expected urgent: once medium, once urgent
    assert report.review.share_queued == 0.5  # the two predicted urgent
    assert report.review.priority_accuracy_not_queued == 0.0
