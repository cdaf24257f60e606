"""The API process loads no classifier (scikit-learn, pydantic-ai) until `POST /api/classify` is called."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.snippets import run_snippet

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path

    import httpx

    from tasktracker.api.app import create_app
    from tasktracker.config import load_settings
    from tasktracker.runtime import Role
    from tests.support.app import serve

    HEAVY = ("sklearn", "pydantic_ai", "openai")

    async def main() -> None:
        settings = load_settings(data_dir=Path(sys.argv[1]), classifier="builtin", log_level="warning", auth="off")
        app = create_app(settings, role=Role.api, migrate=True)
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
            ready = (await client.get("/api/health/ready")).json()
            before = {name: name in sys.modules for name in HEAVY}
            posted = (await client.post("/api/messages", json={"content": "bug: login fails"})).status_code
            config = (await client.get("/api/config")).json()
            classified = await client.post("/api/classify", json={"content": "the export crashes with an error"})
            loaded = app.state.runtime.classifier.loaded
        print(json.dumps({"ready": ready, "before": before, "posted": posted, "config": config,
                          "classified": classified.json(), "status": classified.status_code, "loaded": loaded}))

    asyncio.run(main())
    """
)


def test_the_api_loads_the_classifier_only_when_asked_to_classify(tmp_path: Path) -> None:
    out = run_snippet(SCRIPT, str(tmp_path), timeout=300)
    assert out["ready"]["status"] == "ok" and out["ready"]["checks"]["classifier"] == "ok", out["ready"]
    assert out["before"] == {"sklearn": False, "pydantic_ai": False, "openai": False}
    assert out["posted"] == 202
    assert out["config"]["classifier"] == "builtin"  # the configured mode, until loaded
    assert out["status"] == 200 and out["classified"]["category"] == "bug", out["classified"]
    assert out["loaded"] is True  # (from the tests' seed model: loading it needs no scikit-learn either)


CORE_COMMAND = textwrap.dedent(
    """
    import json, sys

    from tasktracker import cli

    sys.argv = ["tasktracker", *sys.argv[1:]]
    try:
        cli.main()
    except SystemExit:
        pass
    print(json.dumps(sorted(name for name in ("sklearn", "pydantic_ai", "openai") if name in sys.modules)))
    """
)


def test_the_commands_of_cli_py_start_without_the_evaluation_extensions() -> None:
    """`tasktracker user create`, `token create`, `migrate`, `secrets rotate` ... import neither
    scikit-learn nor the LLM client (seconds of start-up); the whole command's help still lists the
    extensions' commands, which do import them."""

    def imported(*argv: str) -> list[str]:
        return list(run_snippet(CORE_COMMAND, *argv))

    assert imported("user", "--help") == []
    assert "sklearn" in imported("--help")


WARM_START = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path

    import httpx

    from tasktracker.api.app import create_app
    from tasktracker.config import load_settings
    from tasktracker.runtime import Role
    from tests.support.app import serve

    async def main() -> None:
        settings = load_settings(data_dir=Path(sys.argv[1]), classifier="builtin", log_level="warning", auth="off")
        app = create_app(settings, role=Role.all, migrate=True)
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
            ready = (await client.get("/api/health/ready")).json()
            heavy = sorted(name for name in ("sklearn", "scipy", "alembic") if name in sys.modules)
            classified = (await client.post("/api/classify", json={"content": "the export crashes"})).json()
        print(json.dumps({"ready": ready, "heavy": heavy, "classified": classified}))

    asyncio.run(main())
    """
)


def test_a_warm_start_of_the_whole_process_imports_no_scikit_learn_scipy_or_alembic(tmp_path: Path) -> None:
    """`tasktracker run` on a data dir a first start migrated and cached the model in: the model is
    loaded without scikit-learn, the schema found at head without Alembic, and the duplicate index
    waits for its first candidates to import scipy (issue 13: ~1.2 s of a 3 s start)."""

    def start() -> dict:
        return dict(run_snippet(WARM_START, str(tmp_path), timeout=300))

    start()  # the first start: migrates (Alembic) and caches the model
    warm = start()
    assert warm["ready"]["status"] == "ok" and warm["ready"]["checks"]["classifier"] == "ok", warm["ready"]
    assert warm["heavy"] == []
    assert warm["classified"]["category"] == "bug"
