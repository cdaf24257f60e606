"""Browser end-to-end fixtures: the real API in embedded mode serving the built dashboard, and
Debian's Chromium driven by Playwright.

Nothing here is skipped: a missing Chromium or dashboard build fails with the command that fixes it
(`make test` installs and builds both first).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import free_port, port_open

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "services" / "dashboard"
DIST = DASHBOARD / "dist"
AXE = DASHBOARD / "node_modules" / "axe-core" / "axe.min.js"
# Test runs keep their screenshots out of the work tree; `make screenshots` refreshes the docs' ones.
SCREENSHOTS = Path(
    os.environ.get("TASKTRACKER_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "tasktracker-screenshots")
)
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class TaskTrackerServer:
    """`tasktracker run` in a subprocess; stop() and start() again keep the port and the data."""

    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def start(self, timeout: float = 60.0) -> None:
        tasktracker = Path(sys.executable).parent / "tasktracker"
        env = {
            **os.environ,
            "TASKTRACKER_DATA_DIR": str(self.data_dir),
            "TASKTRACKER_DASHBOARD_DIR": str(DIST),
            "TASKTRACKER_HOST": "127.0.0.1",
            "PORT": str(self.port),
            "TASKTRACKER_ENVIRONMENT": "test",
            "TASKTRACKER_CLASSIFIER": "builtin",
            "TASKTRACKER_WS_HEARTBEAT_S": "2",
            "TASKTRACKER_LOG_LEVEL": "warning",
            "TASKTRACKER_AUTH": "off",  # the sign-in flow has browser tests of its own
            **self.extra_env,
        }
        for name in ("DATABASE_URL", "NATS_URL", "TASKTRACKER_DATABASE_URL", "TASKTRACKER_NATS_URL"):
            env.pop(name, None)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(tasktracker), "run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tasktracker run exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"tasktracker run did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def env(self) -> dict[str, str]:
        """The environment of the server's own CLI (`tasktracker user create`, …): same data."""
        env = {**os.environ, "TASKTRACKER_DATA_DIR": str(self.data_dir), **self.extra_env}
        for name in ("DATABASE_URL", "NATS_URL", "TASKTRACKER_DATABASE_URL", "TASKTRACKER_NATS_URL"):
            env.pop(name, None)
        return env


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: run services/dashboard/scripts/ensure-chromium.sh "
            "(`make test` does); Playwright's own browser downloads are not used",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail(
            f"{DIST}/index.html is missing: build the dashboard with `make dashboard` "
            "(cd services/dashboard && npm ci && npm run build)",
            pytrace=False,
        )
    return DIST


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in services/dashboard", pytrace=False)
    return AXE.read_text()


def _start_server(
    data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
) -> TaskTrackerServer:
    server = TaskTrackerServer(data_dir, port, env)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(dashboard_dist: Path) -> Iterator[TaskTrackerServer]:
    """One API + dashboard for a test module, on a fresh data directory."""
    data_dir = Path(tempfile.mkdtemp(prefix="tt-e2e-"))
    instance = _start_server(data_dir)
    try:
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def own_server(dashboard_dist: Path, tmp_path: Path) -> Iterator[TaskTrackerServer]:
    """A server for one test that stops and restarts it."""
    instance = _start_server(tmp_path / "data")
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def api(server: TaskTrackerServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page on a base URL, in a fresh context (own storage), light or dark."""
    contexts: list[Any] = []

    def factory(base_url: str, color_scheme: str = "light", locale: str = "en-US") -> Any:
        context = browser.new_context(
            base_url=base_url,
            viewport={"width": 1440, "height": 900},
            color_scheme=color_scheme,
            locale=locale,
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    yield factory
    for context in contexts:
        context.close()


def wait_until(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
