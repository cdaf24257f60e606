"""Accounts in a real Chromium against `tasktracker run` with TASKTRACKER_AUTH=on: the one-time link
the server prints, the login form with users made by `tasktracker user create`, a viewer without
write controls, an admin's API token working over plain HTTP, sign-out; axe on the new screens and
their screenshots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SCREENSHOTS, TaskTrackerServer, _start_server, wait_until
from tests.e2e.test_screens import AXE_RUN, serious

pytestmark = pytest.mark.e2e

CONNECTION = "[data-testid=connection]"
LINK = re.compile(r"Open (http://\S+/api/auth/link\?token=\S+)")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def secure_server(dashboard_dist: Path) -> Iterator[TaskTrackerServer]:
    """A server with accounts on, as in production (Secure cookies: the environment is not development)."""
    data_dir = Path(tempfile.mkdtemp(prefix="tt-e2e-auth-"))
    instance = _start_server(data_dir, env={"TASKTRACKER_AUTH": "on"})
    try:
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def create_user(server: TaskTrackerServer, name: str, role: str) -> str:
    """`tasktracker user create NAME --role R --password-file F`, as an operator would."""
    password_file = server.data_dir / f"{name}.password"
    password_file.write_text(PASSWORD + "\n")
    tasktracker = Path(sys.executable).parent / "tasktracker"
    result = subprocess.run(
        [str(tasktracker), "user", "create", name, "--role", role, "--password-file", str(password_file)],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return name


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_live(page: Any) -> None:
    page.wait_for_selector(f'{CONNECTION}[data-state="connected"]')


def axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    page.evaluate(axe_source)  # CDP evaluation: the dashboard's CSP refuses inline script tags
    return serious(page.evaluate(AXE_RUN))


def test_the_printed_one_time_link_signs_in_the_admin(
    secure_server: TaskTrackerServer, open_page: Any
) -> None:
    found = wait_until(
        lambda: LINK.search(secure_server.log()), what="the sign-in link in the server's output"
    )
    link = found.group(1)
    page = open_page(secure_server.url)
    page.goto(link)
    page.wait_for_url(re.compile(r"/board$"))
    assert page.get_by_test_id("user-name").inner_text() == "admin"
    assert page.get_by_test_id("user-role").inner_text() == "Admin"
    wait_live(page)  # /ws took a one-time ticket
    assert page.js_errors == []

    # The link works once.
    other = open_page(secure_server.url)
    response = other.goto(link)
    assert response is not None and response.status == 401
    other.goto("/board")
    other.wait_for_url(re.compile(r"/login\?next=%2Fboard$"))


def test_login_form_viewer_and_sign_out(
    secure_server: TaskTrackerServer, axe_source: str, open_page: Any
) -> None:
    viewer = create_user(secure_server, f"vic{uuid.uuid4().hex[:4]}", "viewer")
    editor = create_user(secure_server, f"eve{uuid.uuid4().hex[:4]}", "editor")
    with httpx.Client(base_url=secure_server.url, timeout=10) as anonymous:
        assert anonymous.get("/api/tasks").status_code == 401

    page = open_page(secure_server.url)
    page.goto("/inbox")
    page.wait_for_url(re.compile(r"/login\?next=%2Finbox$"))
    page.get_by_role("heading", name="Sign in to Task Tracker").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login-light.png"))
    assert not axe(page, axe_source), "login page"

    sign_in(page, viewer, "not the password")
    page.get_by_text("Wrong username or password.").wait_for()
    sign_in(page, viewer)
    page.wait_for_url(re.compile(r"/inbox$"))
    page.get_by_role("heading", name="Inbox", level=1).wait_for()
    wait_live(page)
    assert page.get_by_test_id("user-role").inner_text() == "Viewer"
    assert page.get_by_test_id("read-only").is_visible()
    assert page.get_by_role("button", name="New message").count() == 0

    # An editor makes a task; the viewer sees it arrive live, and can open it but not change it.
    editor_page = open_page(secure_server.url)
    editor_page.goto("/board")
    sign_in(editor_page, editor)
    editor_page.get_by_role("button", name=re.compile("New task")).click()
    title = f"Renew the staging certificate {uuid.uuid4().hex[:6]}"
    editor_page.get_by_label("Title").fill(title)
    editor_page.get_by_role("button", name="Create task").click()
    editor_page.get_by_text(re.compile(r"Task #\d+ created")).wait_for()

    page.get_by_role("link", name="Board").click()
    page.get_by_text(title).wait_for()
    assert page.get_by_role("button", name=re.compile("New task")).count() == 0
    page.get_by_text(title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()
    assert page.get_by_role("button", name="Edit title").count() == 0
    assert page.get_by_role("button", name=re.compile("Delete")).count() == 0
    assert page.get_by_label("Status").is_disabled()
    # The activity names who made the task.
    activity = page.locator("section[aria-labelledby=sec-activity]")
    activity.get_by_text(editor).wait_for()

    page.get_by_role("button", name=f"Account: {viewer} Viewer").click()
    assert page.get_by_role("link", name="Administration").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/board")
    page.wait_for_url(re.compile(r"/login\?next=%2Fboard$"))
    assert page.js_errors == [] and editor_page.js_errors == []


def test_admin_manages_users_and_a_token_that_works(
    secure_server: TaskTrackerServer, axe_source: str, open_page: Any
) -> None:
    admin = create_user(secure_server, f"ada{uuid.uuid4().hex[:4]}", "admin")
    page = open_page(secure_server.url)
    page.goto("/admin")
    page.wait_for_url(re.compile(r"/login\?next=%2Fadmin$"))
    sign_in(page, admin)
    page.wait_for_url(re.compile(r"/admin/users$"))

    # A new editor, made in the dashboard, can sign in.
    newcomer = f"nina{uuid.uuid4().hex[:4]}"
    page.get_by_role("button", name=re.compile("New user")).click()
    dialog = page.get_by_role("dialog", name="New user")
    dialog.get_by_label("Username").fill(newcomer)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_label("Role").select_option("editor")
    dialog.get_by_role("button", name="Create user").click()
    page.locator(f'[data-testid=user-row][data-username="{newcomer}"]').wait_for()
    page.get_by_label(f"Telegram user id of {newcomer}").fill("424242")
    page.get_by_label(f"Telegram user id of {newcomer}").press("Enter")
    page.get_by_text(f"Telegram user id of {newcomer} saved").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "admin-users-light.png"))
    assert not axe(page, axe_source), "admin users"
    with httpx.Client(base_url=secure_server.url, timeout=10) as client:
        login = client.post("/api/auth/login", json={"username": newcomer, "password": PASSWORD})
        assert login.status_code == 200 and login.json()["role"] == "editor"

    # A token, shown once, that works as a Bearer header until it is revoked.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("button", name=re.compile("New token")).click()
    form = page.get_by_role("dialog", name="New token")
    form.get_by_label("Name").fill("e2e-script")
    form.get_by_label("Expires").select_option("30")
    form.get_by_role("button", name="Create token").click()
    reveal = page.get_by_role("dialog", name="Token “e2e-script” created")
    token = reveal.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("tt_")
    page.wait_for_timeout(400)  # the dialog's opening transition
    page.screenshot(path=str(SCREENSHOTS / "admin-token-light.png"))
    assert not axe(page, axe_source), "token dialog"
    reveal.get_by_role("button", name="I have copied it").click()
    assert token not in page.content()

    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=secure_server.url, timeout=10) as client:
        assert client.get("/api/tasks", headers=bearer).status_code == 200
        posted = client.post(
            "/api/messages",
            headers=bearer,
            json={"content": "Posted with a personal token", "author": "script", "channel": "api"},
        )
        assert posted.status_code == 202, posted.text
        me = client.get("/api/auth/me", headers=bearer).json()
        assert (me["username"], me["role"], me["via"]) == (admin, "admin", "token")

    row = page.locator('[data-testid=token-row][data-token-name="e2e-script"]')
    row.get_by_role("button", name="Revoke token e2e-script").click()
    page.get_by_role("dialog", name="Revoke token “e2e-script”?").get_by_role("button", name="Revoke").click()
    row.get_by_text("revoked").wait_for()
    with httpx.Client(base_url=secure_server.url, timeout=10) as client:
        refused = client.get("/api/tasks", headers=bearer)
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "not_authenticated"
    failing = page.js_errors
    assert failing == [], json.dumps(failing)


def test_sign_in_and_admin_screens_in_the_dark(
    secure_server: TaskTrackerServer, axe_source: str, open_page: Any
) -> None:
    admin = create_user(secure_server, f"dan{uuid.uuid4().hex[:4]}", "admin")
    page = open_page(secure_server.url, color_scheme="dark")
    page.goto("/admin/users")
    page.get_by_role("heading", name="Sign in to Task Tracker").wait_for()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.screenshot(path=str(SCREENSHOTS / "login-dark.png"))
    found = {"login": axe(page, axe_source)}
    sign_in(page, admin)
    page.locator("[data-testid=user-row]").first.wait_for()
    wait_live(page)
    page.screenshot(path=str(SCREENSHOTS / "admin-users-dark.png"))
    found["admin users"] = axe(page, axe_source)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("heading", name="API tokens", level=2).wait_for()
    found["admin tokens"] = axe(page, axe_source)
    failing = {name: v for name, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1)
    assert page.js_errors == []
