"""Rate limits: the token buckets themselves, and 429 `rate_limited` + `Retry-After` on ingestion."""

from __future__ import annotations

import json

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.api.rate_limit import Limiter, RateLimits, retry_after_header
from tasktracker.channels.signing import generic_signature
from tasktracker.runtime import Role
from tests.channels.conftest import running
from tests.support.app import ScriptedClassifier, get_json, serve
from tests.test_metrics import sample

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# The buckets -------------------------------------------------------------------------------------


def test_a_bucket_lets_the_burst_through_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = Limiter(rate=2, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    assert limiter.check("a") == pytest.approx(0.5)  # one token comes back every 1/rate s
    assert limiter.check("b") is None  # another key has its own bucket
    clock.now += 0.25
    assert limiter.check("a") == pytest.approx(0.25)  # a refusal takes nothing
    clock.now += 0.25
    assert limiter.check("a") is None
    assert limiter.check("a") is not None
    clock.now += 100  # refilled, but never above the burst
    assert [limiter.check("a") for _ in range(4)][-1] is not None


def test_a_cost_above_the_burst_passes_on_a_full_bucket_and_is_paid_off_before_the_next() -> None:
    clock = Clock()
    limiter = Limiter(rate=10, burst=100, clock=clock)
    assert limiter.check("token", cost=150) is None  # never refused outright
    assert limiter.check("token", cost=1) == pytest.approx(5.1)  # 51 tokens owed
    clock.now += 5.1
    assert limiter.check("token", cost=1) is None
    assert limiter.check("token", cost=500) == pytest.approx(10.0)  # needs a full bucket: 100 to go


def test_charging_after_the_fact_and_asking_without_charging() -> None:
    clock = Clock()
    limiter = Limiter(rate=1, burst=2, clock=clock)
    assert limiter.wait("acct") is None
    limiter.charge("acct")
    limiter.charge("acct")
    assert limiter.wait("acct") == pytest.approx(1.0)
    assert limiter.wait("acct") == pytest.approx(1.0)  # asking costs nothing
    limiter.charge("acct")  # goes below zero
    assert limiter.wait("acct") == pytest.approx(2.0)


def test_memory_stays_bounded_under_a_flood_of_distinct_keys() -> None:
    clock = Clock()
    limiter = Limiter(rate=1, burst=5, max_keys=1000, clock=clock)
    for _ in range(3):
        limiter.check("victim")
    for i in range(100_000):
        limiter.check(f"spoofed-{i}")
        assert len(limiter) <= 1000
    assert len(limiter) == 1000
    # The least recently used went first: the flood dropped the victim's bucket, not the flood's own.
    assert limiter.wait("spoofed-99999") is None and "victim" not in limiter._buckets


def test_full_buckets_are_not_kept() -> None:
    clock = Clock()
    limiter = Limiter(rate=100, burst=5, clock=clock)
    for i in range(50):
        limiter.check(f"k{i}")
    assert len(limiter) == 50
    clock.now += 1  # all refilled: the next touch forgets them
    for i in range(50):
        limiter.wait(f"k{i}")
        limiter.check(f"k{i}", cost=0)
    assert len(limiter) == 0


@pytest.mark.parametrize(
    ("seconds", "header"), [(0.0, "1"), (0.001, "1"), (1.0, "1"), (1.01, "2"), (59.5, "60")]
)
def test_retry_after_is_whole_seconds_and_at_least_one(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


def test_settings_build_the_limits_and_zero_turns_one_off(make_settings) -> None:
    limits = RateLimits.from_settings(
        make_settings(rate_limit_ingest_per_s=0, rate_limit_login_ip_per_min=120)
    )
    assert limits.ingest is None
    assert limits.login_ip is not None and limits.login_ip.rate == pytest.approx(2.0)
    assert limits.webhook is not None and limits.login_account is not None


def test_the_default_ingestion_limit_is_above_what_the_benchmark_posts(make_settings) -> None:
    # bench/ posts about 1000 messages/s per token; a normal team posts a few per minute.
    limits = RateLimits.from_settings(make_settings())
    assert limits.ingest is not None and limits.ingest.rate >= 2000 and limits.ingest.burst >= 10_000


# Over HTTP ---------------------------------------------------------------------------------------


def _assert_rate_limited(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["code"] == "rate_limited" and "try again in" in body["detail"]
    retry_after = answer.headers["retry-after"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    return int(retry_after)


async def _message_count(client: httpx.AsyncClient) -> int:
    data = await get_json(client, "/api/messages", params={"limit": 200})
    return len(data["data"])


@sqlite_only
async def test_posting_messages_over_the_rate_answers_429_and_stores_nothing(make_settings) -> None:
    settings = make_settings(rate_limit_ingest_per_s=0.01, rate_limit_ingest_burst=3)
    async with running(settings) as client:
        for i in range(3):
            posted = await client.post("/api/messages", json={"content": f"bug {i}", "channel": "rl"})
            assert posted.status_code == 202, posted.text
        refused = await client.post("/api/messages", json={"content": "bug 3", "channel": "rl"})
        assert _assert_rate_limited(refused) >= 90  # one token per 100 s
        assert await _message_count(client) == 3

        # The bucket is the credential's: another token (or session) has its own.
        other = await client.post(
            "/api/messages",
            json={"content": "bug from a script", "channel": "rl"},
            headers={"authorization": "Bearer tt_another-token"},
        )
        assert other.status_code == 202, other.text
        assert await _message_count(client) == 4


@sqlite_only
async def test_a_batch_counts_its_rows(make_settings) -> None:
    settings = make_settings(rate_limit_ingest_per_s=0.01, rate_limit_ingest_burst=10)
    async with running(settings) as client:
        first = await client.post(
            "/api/messages/batch", json=[{"content": f"task {i}", "channel": "rl"} for i in range(8)]
        )
        assert first.status_code == 202, first.text
        second = await client.post(
            "/api/messages/batch",
            json={"messages": [{"content": f"task b{i}", "channel": "rl"} for i in range(5)]},
        )
        _assert_rate_limited(second)
        assert await _message_count(client) == 8  # all or nothing: none of the five
        assert (
            await client.post("/api/messages", json={"content": "one more", "channel": "rl"})
        ).status_code == 202
        assert (
            await client.post("/api/messages", json={"content": "and more", "channel": "rl"})
        ).status_code == 202
        _assert_rate_limited(await client.post("/api/messages", json={"content": "over", "channel": "rl"}))


@sqlite_only
async def test_an_ingestion_limit_of_zero_is_off(make_settings) -> None:
    settings = make_settings(rate_limit_ingest_per_s=0, rate_limit_ingest_burst=1)
    async with running(settings) as client:
        answer = await client.post(
            "/api/messages/batch", json=[{"content": f"note {i}", "channel": "rl"} for i in range(50)]
        )
        assert answer.status_code == 202
        for i in range(5):
            assert (
                await client.post("/api/messages", json={"content": f"n{i}", "channel": "rl"})
            ).status_code == 202


SECRET = "rate-limit-secret-0123456789"


def _signed(body: dict, secret: str = SECRET) -> dict:
    raw = json.dumps(body).encode()
    return {
        "content": raw,
        "headers": {"content-type": "application/json", "X-Signature-256": generic_signature(secret, raw)},
    }


@sqlite_only
async def test_webhooks_are_limited_per_channel_after_their_signature(make_settings) -> None:
    settings = make_settings(
        rate_limit_webhook_per_s=0.01, rate_limit_webhook_burst=2, metrics_token="m" * 32
    )
    async with running(settings) as client:
        for name in ("forms", "mail"):
            created = await client.post(
                "/api/channels", json={"kind": "email", "name": name, "secret": SECRET}
            )
            assert created.status_code == 201, created.text
        # Unsigned junk does not spend the channel's bucket: others cannot starve it without the secret.
        for i in range(5):
            forged = await client.post(
                "/webhook/generic/forms", **_signed({"content": f"x{i}"}, "wrong-secret")
            )
            assert forged.status_code == 401
        for i in range(2):
            stored = await client.post(
                "/webhook/generic/forms", **_signed({"content": f"task {i}", "id": f"f{i}"})
            )
            assert stored.status_code == 202, stored.text
        before = sample(
            (await client.get("/metrics", headers={"authorization": "Bearer " + "m" * 32})).text,
            "tasktracker_rate_limited_total",
            limit="webhook",
        )
        refused = await client.post("/webhook/generic/forms", **_signed({"content": "task 2", "id": "f2"}))
        _assert_rate_limited(refused)
        after = sample(
            (await client.get("/metrics", headers={"authorization": "Bearer " + "m" * 32})).text,
            "tasktracker_rate_limited_total",
            limit="webhook",
        )
        assert after == before + 1
        # another channel has its own bucket
        assert (
            await client.post("/webhook/generic/mail", **_signed({"content": "task m", "id": "m0"}))
        ).status_code == 202
        messages = (await get_json(client, "/api/messages", params={"channel": "forms"}))["data"]
        assert sorted(m["external_id"] for m in messages) == ["f0", "f1"]


@sqlite_only
async def test_openapi_declares_429_where_limits_apply(make_settings) -> None:
    app = create_app(make_settings(), role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        spec = (await client.get("/openapi.json")).json()
    for path in ("/api/messages", "/api/messages/batch", "/webhook/slack", "/webhook/generic/{channel}"):
        answer = spec["paths"][path]["post"]["responses"]["429"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "Retry-After" in answer["headers"]
    assert "429" not in spec["paths"]["/api/messages"]["get"]["responses"]
