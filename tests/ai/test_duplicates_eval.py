"""The duplicate matcher on clear cases, and `tasktracker eval-duplicates` with the metrics behind it."""

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tasktracker.ai.duplicates_cli import register
from tasktracker.ai.duplicates_eval import (
    SWEEP,
    DuplicatesDataError,
    bundled_pairs,
    evaluate_duplicates,
    read_pairs,
)
from tasktracker.classification.duplicates import best_match, similarity
from tasktracker.config import Settings, get_settings

THRESHOLD = Settings.model_fields["duplicate_threshold"].default

# The same request said again: each must join the open task at the default threshold.
SAME_REQUEST = [
    (
        "the export button on the reports page does nothing",
        "Bug: the export button on the reports page does nothing!!",
    ),
    (
        "please rotate the staging db password before friday",
        "rotate the staging db password before friday pls",
    ),
    (
        "Fwd: the invoice emails go out twice since the deploy",
        "the invoice emails go out twice since the deploy",
    ),
    (
        "кнопка експорту на сторінці звітів нічого не робить",
        "пінг: кнопка експорту на сторінці звітів нічого не робить",
    ),
    (
        "треба оновити сертифікат для api.acme.io до п'ятниці",
        "треба оновити сертифікат для api.acme.io до п’ятниці, будь ласка",
    ),
    (
        "после деплоя не приходят письма с инвойсами клиентам",
        "после деплоя не приходят письма с инвойсами клиентам, срочно!!",
    ),
    (
        "счётчик непрочитанных не сбрасывается в мобильном приложении",
        "счетчик непрочитанных не сбрасываеться в мобильном приложении",
    ),
    # rewordings and transliteration (the n-gram cosine)
    ("не работает экспорт в эксель", "ne rabotaet eksport v eksel"),
    ("we need CSV export for the tasks list", "plz add csv export to the tasks list 🙏"),
    (
        "после деплоя перестали приходить письма с инвойсами",
        "письма с инвойсами перестали приходить после деплоя",
    ),
    # the same request in another language or in other words (the concept lexicon)
    ("the csv import of contacts is broken", "импорт контактов из csv не работает"),
    ("add a dark theme to the dashboard please", "додайте темну тему в дашборд"),
    (
        "password reset links arrive already expired",
        "посилання для скидання пароля приходять вже прострочені",
    ),
]

# Same topic, different request: none may join the open task.
DIFFERENT_REQUEST = [
    ("login fails on Safari", "login fails on Android"),
    (
        "can someone review my PR #503? it's blocking the release",
        "can someone review my PR #507? it's blocking the release",
    ),
    ("add CSV export to the tasks list", "add dark mode to the settings page"),
    ("продовжіть сертифікат для api.acme.io", "продовжіть сертифікат для admin.acme.io"),
    ("додайте темну тему", "налаштуйте бекапи бази на стейджингу"),
    ("дайте @olena доступ к прод графане", "дайте @olena доступ к прод базе"),
    ("CI красный из-за флаки теста test_payments_refund", "CI красный из-за флаки теста test_invoice_totals"),
    # one slot swapped in an otherwise identical text, opposite actions, a negation on one side
    (
        "pagination on /tasks is broken, page 2 shows page 1",
        "pagination on /projects is broken, page 2 shows page 1",
    ),
    ("please give @olena access to the prod grafana", "please remove @olena's access to the prod grafana"),
    (
        "charts on the analytics page don't render in Safari",
        "charts on the analytics page render in grey in Safari",
    ),
    ("не работает экспорт в эксель", "ne rabotaet eksport v pdf"),
    # across languages, another member of the same slot (format, platform, direction)
    ("the csv import of contacts is broken", "экспорт контактов в csv не работает"),
    ("the android app crashes when opening the chat", "ios-застосунок вилітає при відкритті чату"),
    ("add a dark theme to the dashboard please", "додайте темну тему в мобільний застосунок"),
]

TINY = [
    # identical texts: similarity 1.0, linked at every threshold
    {"a": "the build on main is red", "b": "the build on main is red", "duplicate": True, "lang": "en"},
    {"a": "renew the TLS certificate", "b": "renew the TLS certificate", "duplicate": False, "lang": "en"},
    # nothing in common: similarity 0.0, never linked
    {"a": "додайте темну тему", "b": "логін не працює в Safari", "duplicate": True, "lang": "uk"},
    {
        "a": "зробіть експорт у CSV",
        "b": "продовжіть домен",
        "duplicate": True,
        "lang": "uk",
        "kind": "rephrase",
    },
    {
        "a": "закажите мониторы",
        "b": "уберите старые фича-флаги",
        "duplicate": False,
        "lang": "ru",
        "kind": "easy",
    },
]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")  # a second command, so the app keeps `eval-duplicates` as a subcommand
    def noop() -> None: ...

    return app


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


# The matcher ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("task", "message"), SAME_REQUEST)
def test_a_repeated_request_joins_the_open_task(task, message):
    assert best_match(message, [(1, "add SSO for admins"), (7, task)], THRESHOLD) == (
        7,
        pytest.approx(similarity(message, task)),
    )


@pytest.mark.parametrize(("task", "message"), DIFFERENT_REQUEST)
def test_a_different_request_on_the_same_topic_does_not(task, message):
    assert best_match(message, [(7, task)], THRESHOLD) is None


def test_the_eval_measures_the_decision_the_pipeline_makes():
    pairs = read_pairs(bundled_pairs())
    for threshold in (0.5, 0.75, THRESHOLD, 0.9):
        for pair in pairs:
            linked = best_match(pair.b, [(0, pair.a)], threshold) is not None
            assert linked == (similarity(pair.b, pair.a) >= threshold), (threshold, pair)


# The metrics ---------------------------------------------------------------------------------------------


def test_precision_recall_and_f1_on_a_tiny_set(tmp_path):
    report = evaluate_duplicates(read_pairs(write_rows(tmp_path / "tiny.jsonl", TINY)), 0.8)

    at = report.at_threshold
    # linked: the two identical pairs (one right, one wrong); missed: two duplicates; one right rejection
    assert (at.true_positives, at.false_positives, at.false_negatives, at.true_negatives) == (1, 1, 2, 1)
    assert at.precision == pytest.approx(1 / 2)
    assert at.recall == pytest.approx(1 / 3)
    assert at.f1 == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))  # 0.4
    assert report.by_language["en"].precision == 0.5 and report.by_language["en"].recall == 1.0
    assert report.by_language["uk"].precision == 0.0 and report.by_language["uk"].recall == 0.0
    assert report.by_language["ru"].pairs == 1 and report.by_language["ru"].duplicates == 0
    assert report.by_kind["rephrase"].linked == 0.0 and report.by_kind["easy"].linked == 0.0
    assert [p.threshold for p in report.sweep] == list(SWEEP) and SWEEP[0] == 0.5 and SWEEP[-1] == 0.95
    # Scores are 0 or 1, so every threshold gives the same counts; ties go to the highest threshold.
    assert [p.f1 for p in report.sweep] == [pytest.approx(0.4)] * len(SWEEP)
    assert report.best_f1.threshold == 0.95
    assert report.precise is None  # precision 0.5 never reaches 0.9
    assert len(report.mistakes) == 3


def test_the_bundled_set_and_the_default_threshold():
    pairs = read_pairs(bundled_pairs())
    languages = Counter(pair.lang for pair in pairs)
    assert len(pairs) >= 300 and set(languages) == {"en", "uk", "ru", "mixed"}  # mixed: two languages
    assert len({(pair.a, pair.b) for pair in pairs}) == len(pairs)
    assert 0.35 <= sum(pair.duplicate for pair in pairs) / len(pairs) <= 0.45

    report = evaluate_duplicates(pairs, THRESHOLD)

    # What docs/classification.md promises: at the default threshold a link is almost always right.
    assert report.at_threshold.precision >= 0.95 and report.at_threshold.recall >= 0.4
    assert report.by_kind["hard"].linked <= 0.05 and report.by_kind["easy"].linked == 0.0
    assert report.by_kind["repost"].linked >= 0.9
    # A restatement in another language or in other words meets through the concept lexicon.
    assert report.by_kind["cross-language"].linked >= 0.3


# Bad data ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "tiny.jsonl: file not found"),
        ("\n\n", "tiny.jsonl: no pairs"),
        ('{"a": "x", "b": "y", "duplicate": true}\nnot json\n', "tiny.jsonl:2: invalid JSON"),
        ('["x", "y", true]\n', "tiny.jsonl:1: expected a JSON object"),
        ('{"a": "x", "duplicate": true}\n', "tiny.jsonl:1: 'b' must be a non-empty string"),
        (
            '{"a": "x", "b": "y", "duplicate": "yes"}\n',
            "tiny.jsonl:1: 'duplicate' must be true or false, got 'yes'",
        ),
        (
            '{"a": "x", "b": "y", "duplicate": true, "language": "en"}\n',
            "tiny.jsonl:1: unknown field 'language'",
        ),
    ],
)
def test_a_bad_file_names_the_line_and_the_problem(tmp_path, content, message):
    data = tmp_path / "tiny.jsonl"
    if content is not None:
        data.write_text(content, encoding="utf-8")

    with pytest.raises(DuplicatesDataError) as raised:
        read_pairs(data)
    assert str(raised.value).startswith(str(data)) and message in str(raised.value)

    result = CliRunner().invoke(make_app(), ["eval-duplicates", "--data", str(data), "--threshold", "0.8"])
    assert result.exit_code == 2
    assert message in result.stderr


# The command ---------------------------------------------------------------------------------------------


def test_the_command_prints_the_tables_and_writes_the_report_and_the_plot(tmp_path):
    data = write_rows(tmp_path / "tiny.jsonl", TINY)
    out, plot = tmp_path / "out" / "report.json", tmp_path / "out" / "duplicates.png"

    result = CliRunner().invoke(
        make_app(),
        [
            "eval-duplicates",
            "--data",
            str(data),
            "--threshold",
            "0.8",
            "--out",
            str(out),
            "--plot",
            str(plot),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Threshold sweep" in result.output and "0.80 (current)" in result.output
    report = json.loads(out.read_text())
    assert report["data"] == str(data) and report["pairs"] == 5 and report["duplicates"] == 3
    assert report["threshold"] == 0.8 and report["at_threshold"]["precision"] == 0.5
    assert len(report["sweep"]) == 46 and set(report["by_language"]) == {"en", "uk", "ru"}
    assert report["match_ms_per_message"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_command_defaults_to_the_bundled_set_and_the_configured_threshold(env, tmp_path):
    env.setenv("TASKTRACKER_DUPLICATE_THRESHOLD", "0.9")
    out = tmp_path / "report.json"

    result = CliRunner().invoke(make_app(), ["eval-duplicates", "--out", str(out)])

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["data"] == "bundled duplicates.jsonl" and report["pairs"] >= 300
    assert report["threshold"] == 0.9


def test_an_unwritable_report_path_exits_2(tmp_path):
    data = write_rows(tmp_path / "tiny.jsonl", TINY)
    blocker = tmp_path / "file"
    blocker.write_text("")

    result = CliRunner().invoke(
        make_app(),
        ["eval-duplicates", "--data", str(data), "--threshold", "0.8", "--out", str(blocker / "r.json")],
    )

    assert result.exit_code == 2
    assert "cannot write" in result.stderr
