"""Rate limits: the token buckets themselves, and 429 `rate_limited` + `Retry-After` on ingestion."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.api.rate_limit import Limiter, RateLimits, retry_after_header
from tasktracker.channels.signing import generic_signature
from tasktracker.models import Role as ModelRole
from tasktracker.runtime import Role
from tests.channels.conftest import running
from tests.support.accounts import PASSWORD, add_token, add_user, bearer
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
        make_settings(rate_limit_ingest_per_s=0, rate_limit_login_ip_per_min=120, rate_limit_classify_per_s=0)
    )
    assert limits.ingest is None and limits.classify is None
    assert limits.login_ip is not None and limits.login_ip.rate == pytest.approx(2.0)
    assert limits.webhook is not None and limits.login_account is not None
    classify = RateLimits.from_settings(make_settings()).classify
    assert classify is not None and classify.rate == pytest.approx(10.0) and classify.burst == 60


def test_the_default_ingestion_limit_is_above_what_the_benchmark_posts(make_settings) -> None:
    # bench/ posts about 1000 single messages/s per token, and 60 batches of 500 at once (30 000 rows)
    # as fast as the API takes them; a normal team posts a few messages per minute.
    limits = RateLimits.from_settings(make_settings())
    assert limits.ingest is not None and limits.ingest.rate >= 2000 and limits.ingest.burst >= 30_000


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
    for path in (
        "/api/messages",
        "/api/messages/batch",
        "/api/classify",
        "/webhook/slack",
        "/webhook/generic/{channel}",
        "/webhook/github",
        "/webhook/jira",
        "/webhook/linear",
    ):
        answer = spec["paths"][path]["post"]["responses"]["429"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "Retry-After" in answer["headers"]
    assert "429" not in spec["paths"]["/api/messages"]["get"]["responses"]


# Sign-in and authenticated ingestion (TASKTRACKER_AUTH=on) ----------------------------------------------


def _auth_app(make_settings, **overrides):
    settings = make_settings(auth="on", telegram_mode="off", metrics_token="m" * 32, **overrides)
    return create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())


async def _rate_limited_count(client: httpx.AsyncClient, limit: str) -> float:
    text = (await client.get("/metrics", headers={"authorization": "Bearer " + "m" * 32})).text
    return sample(text, "tasktracker_rate_limited_total", limit=limit)


def _login(client: httpx.AsyncClient, username: str, password: str):
    return client.post("/api/auth/login", json={"username": username, "password": password})


@sqlite_only
async def test_failed_sign_ins_lock_the_account_for_a_while_even_for_the_right_password(
    make_settings,
) -> None:
    app = _auth_app(make_settings, rate_limit_login_account_per_min=0.5, rate_limit_login_account_burst=3)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "ann", ModelRole.editor)
        await add_user(app.state.runtime, "bob", ModelRole.editor)
        # Successful sign-ins cost the account nothing.
        for _ in range(5):
            assert (await _login(client, "ann", PASSWORD)).status_code == 200
        before = await _rate_limited_count(client, "login_account")
        for _ in range(3):
            wrong = await _login(client, "ANN ", "not the password at all")  # case and spaces: one account
            assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
        locked = await _login(client, "ann", PASSWORD)
        assert _assert_rate_limited(locked) >= 100  # one failure forgiven every 2 minutes
        assert "tt_session" not in locked.cookies
        assert await _rate_limited_count(client, "login_account") == before + 1
        # Another account on the same address is not affected.
        assert (await _login(client, "bob", PASSWORD)).status_code == 200
        # Unknown accounts are limited alike (the answer does not tell which names exist).
        for _ in range(3):
            assert (await _login(client, "nobody", "whatever-password")).status_code == 401
        _assert_rate_limited(await _login(client, "nobody", "whatever-password"))


@sqlite_only
async def test_sign_in_attempts_are_limited_per_address_across_accounts(make_settings) -> None:
    app = _auth_app(make_settings, rate_limit_login_ip_per_min=0.5, rate_limit_login_ip_burst=4)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "ann", ModelRole.viewer)
        before = await _rate_limited_count(client, "login_ip")
        for i in range(4):
            assert (await _login(client, f"guess{i}", "spray-password-1")).status_code == 401
        _assert_rate_limited(await _login(client, "ann", PASSWORD))
        assert await _rate_limited_count(client, "login_ip") == before + 1
        # Bad input is refused before the limit is asked: it costs nothing and says what is wrong.
        assert (await client.post("/api/auth/login", json={"username": "ann"})).status_code == 422


@sqlite_only
async def test_each_api_token_has_its_own_ingestion_bucket_and_bad_tokens_spend_none(make_settings) -> None:
    app = _auth_app(make_settings, rate_limit_ingest_per_s=0.01, rate_limit_ingest_burst=2)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        user = await add_user(app.state.runtime, "script", ModelRole.editor)
        first, second = (
            await add_token(app.state.runtime, user, "a"),
            await add_token(app.state.runtime, user, "b"),
        )
        before = await _rate_limited_count(client, "ingest")
        for i in range(5):  # unknown tokens are refused by authentication, before any bucket
            refused = await client.post(
                "/api/messages", json={"content": f"x{i}"}, headers=bearer(first[:-2] + "zz")
            )
            assert refused.status_code == 401
        for token in (first, second):
            for i in range(2):
                posted = await client.post(
                    "/api/messages", json={"content": f"bug {i}"}, headers=bearer(token)
                )
                assert posted.status_code == 202, posted.text
        _assert_rate_limited(
            await client.post("/api/messages", json={"content": "more"}, headers=bearer(first))
        )
        _assert_rate_limited(
            await client.post("/api/messages/batch", json=[{"content": "b"}], headers=bearer(second))
        )
        assert await _rate_limited_count(client, "ingest") == before + 2


@sqlite_only
async def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(make_settings) -> None:
    """The test client is the trusted proxy (127.0.0.1). A proxy appends the address it saw, so the
    client is the right-most address that is not a trusted proxy; what the client wrote to the left of
    it is its own claim. Rotating that claim must not give a guesser a fresh bucket per request."""
    app = _auth_app(
        make_settings,
        forwarded_allow_ips="127.0.0.1,10.0.0.0/8",
        rate_limit_login_ip_per_min=0.5,
        rate_limit_login_ip_burst=3,
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:

        def via_proxies(claimed: str, client_address: str) -> dict[str, str]:
            # client -> ingress (appends the client) -> in-cluster proxy (appends the ingress pod)
            return {"x-forwarded-for": f"{claimed}, {client_address}, 10.1.2.3"}

        for i in range(3):
            answer = await client.post(
                "/api/auth/login",
                json={"username": f"u{i}", "password": "guess-password-1"},
                headers=via_proxies(f"198.51.100.{i}", "203.0.113.7"),
            )
            assert answer.status_code == 401
        forged = await client.post(
            "/api/auth/login",
            json={"username": "u9", "password": "guess-password-1"},
            headers=via_proxies("198.51.100.99", "203.0.113.7"),
        )
        _assert_rate_limited(forged)
        # Another real client behind the same proxies has its own bucket.
        other = await client.post(
            "/api/auth/login",
            json={"username": "u9", "password": "guess-password-1"},
            headers=via_proxies("198.51.100.99", "203.0.113.8"),
        )
        assert other.status_code == 401


# Classification on demand and the trackers' webhooks ---------------------------------------------------


@sqlite_only
async def test_classify_calls_over_the_rate_answer_429_without_running_the_model(make_settings) -> None:
    settings = make_settings(
        rate_limit_classify_per_s=0.01, rate_limit_classify_burst=3, metrics_token="m" * 32
    )
    async with running(settings) as client:
        before = await _rate_limited_count(client, "classify")
        for i in range(3):
            answer = await client.post("/api/classify", json={"content": f"bug {i} in checkout"})
            assert answer.status_code == 200, answer.text
        assert _assert_rate_limited(await client.post("/api/classify", json={"content": "bug 3"})) >= 90
        assert len(client.classifier.calls) == 3  # the refused call never reached the model
        assert await _rate_limited_count(client, "classify") == before + 1
        # The bucket is the credential's: another token (or session) has its own.
        other = await client.post(
            "/api/classify",
            json={"content": "bug from a script"},
            headers={"authorization": "Bearer tt_other"},
        )
        assert other.status_code == 200, other.text


@sqlite_only
async def test_a_classify_limit_of_zero_is_off(make_settings) -> None:
    async with running(make_settings(rate_limit_classify_per_s=0, rate_limit_classify_burst=1)) as client:
        for i in range(5):
            assert (await client.post("/api/classify", json={"content": f"task {i}"})).status_code == 200


HOOK_SECRET = "tracker-webhook-secret-0123"


def _hub(body: dict, secret: str = HOOK_SECRET, header: str = "X-Hub-Signature-256") -> dict:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"content": raw, "headers": {"content-type": "application/json", header: signature}}


@sqlite_only
async def test_tracker_webhooks_are_limited_per_target_after_their_signature(make_settings) -> None:
    settings = make_settings(rate_limit_webhook_per_s=0.01, rate_limit_webhook_burst=2)
    async with running(settings) as client:
        for body in (
            {"name": "web", "kind": "github", "config": {"repository": "acme/web"}},
            {
                "name": "ops",
                "kind": "jira",
                "config": {
                    "base_url": "https://acme.atlassian.net",
                    "email": "b@acme.test",
                    "project_key": "OPS",
                },
            },
        ):
            created = await client.post(
                "/api/export-targets", json={**body, "token": "t0ken", "webhook_secret": HOOK_SECRET}
            )
            assert created.status_code == 201, created.text
        event = {"action": "closed", "repository": {"full_name": "acme/web"}, "issue": {"number": 9}}
        github = {"x-github-event": "issues"}
        # Forged deliveries do not spend the target's bucket: others cannot starve it without the secret.
        for _ in range(5):
            forged = _hub(event, "wrong-secret")
            answer = await client.post(
                "/webhook/github", content=forged["content"], headers={**forged["headers"], **github}
            )
            assert answer.status_code == 401
        for _ in range(2):
            signed = _hub(event)
            answer = await client.post(
                "/webhook/github", content=signed["content"], headers={**signed["headers"], **github}
            )
            assert answer.status_code in (200, 202), answer.text
        signed = _hub(event)
        _assert_rate_limited(
            await client.post(
                "/webhook/github", content=signed["content"], headers={**signed["headers"], **github}
            )
        )
        # Another target has its own bucket.
        jira = _hub(
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {"id": "10001", "fields": {"project": {"key": "OPS"}}},
            },
            header="X-Hub-Signature",
        )
        assert (await client.post("/webhook/jira", **jira)).status_code in (200, 202)
