"""Export targets cannot be pointed at the cluster's own services or cloud metadata (SSRF): loopback,
private, link-local and unspecified addresses are refused when a target is saved and again at send
time, a name is checked by every address it resolves to, redirects are not followed, and an admin
can allow hosts or networks with TASKTRACKER_EXPORT_ALLOWED_HOSTS."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from fastapi.responses import RedirectResponse

from tasktracker.config import ConfigError, Settings, load_settings
from tasktracker.exports.egress import EgressPolicy, TargetRefused, why_not_public
from tests.channels.conftest import running
from tests.exports.conftest import add_target, add_task, export_to, github_target, settled
from tests.support.app import get_json
from tests.support.trackers import FakeGitHub, WebhookReceiver

INTERNAL = [
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost:9/hook", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.7/hook", "10.0.0.7 is a private address"),
    ("http://192.168.1.20:8080/hook", "192.168.1.20 is a private address"),
    ("http://0.0.0.0:8000/hook", "0.0.0.0 is an unspecified address"),
    ("http://[::1]:9/hook", "::1 is a loopback address"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe is a link-local address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is a non-public address"),
]


def hook(url: str, name: str = "internal hook") -> dict[str, Any]:
    return {"name": name, "kind": "webhook", "config": {"url": url}, "token": "signing-key-0123"}


@pytest.mark.parametrize(("url", "reason"), INTERNAL)
async def test_a_target_pointing_inside_is_refused_with_the_reason(
    export_settings: Callable[..., Settings], url: str, reason: str
) -> None:
    async with running(export_settings(export_allowed_hosts="")) as app:
        response = await app.post("/api/export-targets", json=hook(url))
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "export_target_refused"
        assert body["detail"].startswith("url: ") and reason in body["detail"]
        assert "TASKTRACKER_EXPORT_ALLOWED_HOSTS" in body["detail"]
        assert await get_json(app, "/api/export-targets") == []


async def test_every_url_of_every_kind_is_checked_on_create_and_change(
    export_settings: Callable[..., Settings], github: FakeGitHub
) -> None:
    async with running(export_settings(export_allowed_hosts="")) as app:
        for body in (
            github_target(github),  # api_url on 127.0.0.1
            {
                "name": "jira",
                "kind": "jira",
                "config": {"base_url": "http://10.1.2.3", "email": "bot@x.test", "project_key": "OPS"},
                "token": "t",
            },
            {
                "name": "linear",
                "kind": "linear",
                "config": {"team_id": "T", "api_url": "http://169.254.169.254/graphql"},
                "token": "t",
            },
        ):
            response = await app.post("/api/export-targets", json=body)
            assert response.status_code == 422 and response.json()["code"] == "export_target_refused", body

        # Public addresses pass (nothing is sent when a target is saved).
        target = await add_target(app, hook("http://93.184.216.34/hook", "public hook"))
        moved = await app.patch(
            f"/api/export-targets/{target['id']}", json={"config": {"url": "http://169.254.169.254/"}}
        )
        assert moved.status_code == 422 and moved.json()["code"] == "export_target_refused"
        (kept,) = await get_json(app, "/api/export-targets")
        assert kept["config"]["url"] == "http://93.184.216.34/hook"


async def test_the_allow_list_admits_hosts_and_networks(export_settings: Callable[..., Settings]) -> None:
    async with running(export_settings(export_allowed_hosts="localhost, 10.0.0.0/8,::1")) as app:
        for url in ("http://localhost:9/a", "http://10.20.30.40/b", "http://[::1]:9/c"):
            await add_target(app, hook(url, name=url.split("/")[-1]))
        refused = await app.post("/api/export-targets", json=hook("http://127.0.0.1:9/d", "d"))
        assert refused.status_code == 422  # the name localhost is allowed, not every loopback address


async def test_a_target_refused_at_send_time_fails_without_a_request(
    export_settings: Callable[..., Settings], receiver: WebhookReceiver
) -> None:
    """Allowed when it was saved, not any more (the allow-list changed, or DNS did): nothing is sent."""
    async with running(export_settings()) as app:  # the fixtures' allow-list: 127.0.0.1
        target = await add_target(app, hook(f"{receiver.base_url}/hooks/tasks"))
        task = await add_task(app)
    async with running(export_settings(export_allowed_hosts="")) as app:
        export = await export_to(app, task["id"], target["id"])
        failed = await settled(app, task["id"], export["id"], ("failed",))
    assert "127.0.0.1 is a loopback address" in failed["error"]
    assert failed["attempts"] == 1  # refused for good, not retried
    assert receiver.deliveries == []


async def test_a_redirect_is_not_followed(
    export_settings: Callable[..., Settings], receiver: WebhookReceiver
) -> None:
    async def moved() -> RedirectResponse:
        return RedirectResponse(f"{receiver.base_url}/hooks/tasks", status_code=307)

    receiver.app.add_api_route("/hooks/moved", moved, methods=["POST"])
    async with running(export_settings()) as app:
        target = await add_target(app, hook(f"{receiver.base_url}/hooks/moved"))
        task = await add_task(app)
        export = await export_to(app, task["id"], target["id"])
        failed = await settled(app, task["id"], export["id"], ("failed",))
    assert "redirect (307)" in failed["error"] and "/hooks/tasks" in failed["error"]
    assert receiver.deliveries == []


def resolver(answers: dict[str, list[list[str]]]) -> Callable[[str, int], Any]:
    """A DNS stand-in: each name answers its lists in turn (the last one again when they run out)."""
    asked: dict[str, int] = {}

    async def resolve(host: str, port: int) -> list[str]:
        turn = asked.get(host, 0)
        asked[host] = turn + 1
        if host not in answers:
            return [host]  # an IP literal
        return answers[host][min(turn, len(answers[host]) - 1)]

    return resolve


async def test_dns_rebinding_between_check_and_connect_gets_nowhere(receiver: WebhookReceiver) -> None:
    """The name is public when the request is checked and loopback when the connection is made:
    the connection is made only to the addresses checked at that moment, so it is refused."""
    port = httpx.URL(receiver.base_url).port
    policy = EgressPolicy.from_list([], resolver({"tracker.test": [["93.184.216.34"], ["127.0.0.1"]]}))
    async with policy.client(timeout=2) as http:
        with pytest.raises(
            TargetRefused, match=r"tracker\.test resolves to 127\.0\.0\.1, a loopback address"
        ):
            await http.post(f"http://tracker.test:{port}/hooks/tasks", json={})
    assert receiver.deliveries == []


async def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    policy = EgressPolicy.from_list([], resolver({"mixed.test": [["93.184.216.34", "10.0.0.5"]]}))
    with pytest.raises(TargetRefused, match=r"mixed\.test resolves to 10\.0\.0\.5, a private address"):
        await policy.check_url("https://mixed.test/")
    async with policy.client(timeout=2) as http:
        with pytest.raises(TargetRefused):
            await http.get("http://169.254.169.254/latest/meta-data/")  # any URL, e.g. a `next` link


async def test_allowed_connections_reach_the_tracker(receiver: WebhookReceiver) -> None:
    port = httpx.URL(receiver.base_url).port
    policy = EgressPolicy.from_list(["tracker.test"], resolver({"tracker.test": [["127.0.0.1"]]}))
    async with policy.client(timeout=5) as http:
        response = await http.post(f"http://tracker.test:{port}/hooks/tasks", content=b"{}")
    assert response.status_code == 403  # reached the receiver (which wants a signature)
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "multicast"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_are_public(address: str, kind: str | None) -> None:
    assert why_not_public(ip_address(address)) == kind


@pytest.mark.parametrize("value", ["*.corp.example", "not a host", "10.0.0.0/33", "http://x"])
def test_the_allow_list_setting_refuses_what_is_not_a_host_or_network(value: str) -> None:
    with pytest.raises(ConfigError, match="TASKTRACKER_EXPORT_ALLOWED_HOSTS"):
        load_settings(export_allowed_hosts=value)
    assert load_settings(
        export_allowed_hosts="jira.corp.example, 10.0.0.5,fd00::/8"
    ).export_allowed_host_list == [
        "jira.corp.example",
        "10.0.0.5",
        "fd00::/8",
    ]
