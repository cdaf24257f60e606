"""Rate limits: in-process token buckets, answered with 429 `rate_limited` and `Retry-After`.

A `Limiter` holds one bucket per key (an API token, a channel, an account, an address). A bucket holds up
to `burst` tokens and refills at `rate` per second; a request costs one token, a batch one per row.
A request is let through when the bucket holds what it costs, or — for a cost above `burst`, which could
never fit — when the bucket is full; the bucket may then go below zero, and later requests wait until it
has refilled. So a limit never refuses a single request outright, and averaged over time nobody gets
more than `rate`.

Memory is bounded: at most `max_keys` buckets are kept, least recently used dropped first. A dropped
bucket starts full again when its key comes back, so a flood of distinct keys (spoofed channel names,
made-up accounts) costs at most `max_keys` entries and can only ever lose limits on keys that went
quiet — the ones the flood is not about. Limits that must hold against such a flood are layered (login:
per account *and* per address).

The buckets live in the process: with several API replicas each enforces its own, so the effective
limit is the configured one times the replicas. A limit that must be global belongs in front of the
replicas (the ingress controller's rate limiting, e.g. ingress-nginx `limit-rps`); these are the floor
that holds without one. See docs/security.md.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from tasktracker import metrics
from tasktracker.errors import RateLimited

if TYPE_CHECKING:
    from tasktracker.config import Settings

DEFAULT_MAX_KEYS = 50_000


class Limiter:
    """Token buckets per key. `check(key, cost)` takes `cost` tokens and answers None, or answers the
    seconds to wait (and takes nothing) when the bucket does not hold them."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("a limiter needs rate > 0, burst >= 1 and max_keys >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        # key -> (tokens, when they were counted); most recently used last.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        entry = self._buckets.get(key)
        if entry is None:
            return self.burst
        tokens, then = entry
        return min(self.burst, tokens + (now - then) * self.rate)

    def check(self, key: str, cost: float = 1.0) -> float | None:
        now = self._clock()
        tokens = self._tokens(key, now)
        needed = min(cost, self.burst)
        if tokens < needed:
            self._store(key, tokens, now)
            return (needed - tokens) / self.rate
        self._store(key, tokens - cost, now)
        return None

    def wait(self, key: str, cost: float = 1.0) -> float | None:
        """What `check` would answer, taking nothing: for limits charged only after the fact."""
        tokens = self._tokens(key, self._clock())
        needed = min(cost, self.burst)
        return None if tokens >= needed else (needed - tokens) / self.rate

    def charge(self, key: str, cost: float = 1.0) -> None:
        """Take `cost` tokens whatever the bucket holds (it may go below zero)."""
        now = self._clock()
        self._store(key, self._tokens(key, now) - cost, now)

    def _store(self, key: str, tokens: float, now: float) -> None:
        if tokens >= self.burst:  # a full bucket is the same as none: keep nothing
            self._buckets.pop(key, None)
            return
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class Limit(StrEnum):
    """What a refusal was about: the label of `tasktracker_rate_limited_total`."""

    ingest = "ingest"  # POST /api/messages(/batch), per credential
    classify = "classify"  # POST /api/classify, per credential
    webhook = "webhook"  # /webhook/*, per channel or export target
    login_account = "login_account"  # POST /api/auth/login, failed attempts per account
    login_ip = "login_ip"  # POST /api/auth/login, attempts per client address


def retry_after_header(seconds: float) -> str:
    """`Retry-After` in whole seconds, at least 1 (0 would invite an immediate retry that fails too)."""
    return str(max(1, math.ceil(seconds)))


def refuse(limit: Limit, seconds: float, what: str) -> RateLimited:
    metrics.RATE_LIMITED.labels(limit.value).inc()
    wait = retry_after_header(seconds)
    return RateLimited(f"too many {what}: try again in {wait} s", retry_after=wait)


@dataclass
class RateLimits:
    """The limiters of one API process; `None` where the setting turns a limit off."""

    ingest: Limiter | None
    webhook: Limiter | None
    login_account: Limiter | None
    login_ip: Limiter | None
    classify: Limiter | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        def limiter(per_s: float, burst: int) -> Limiter | None:
            return Limiter(per_s, burst, max_keys=settings.rate_limit_max_keys) if per_s > 0 else None

        return cls(
            ingest=limiter(settings.rate_limit_ingest_per_s, settings.rate_limit_ingest_burst),
            webhook=limiter(settings.rate_limit_webhook_per_s, settings.rate_limit_webhook_burst),
            login_account=limiter(
                settings.rate_limit_login_account_per_min / 60, settings.rate_limit_login_account_burst
            ),
            login_ip=limiter(settings.rate_limit_login_ip_per_min / 60, settings.rate_limit_login_ip_burst),
            classify=limiter(settings.rate_limit_classify_per_s, settings.rate_limit_classify_burst),
        )

    def check_ingest(self, request: Request, rows: int = 1) -> None:
        """Charge `rows` messages to the request's credential; 429 when its bucket is empty."""
        if self.ingest is None:
            return
        wait = self.ingest.check(credential_key(request), rows)
        if wait is not None:
            raise refuse(Limit.ingest, wait, "messages for this API token")

    def check_classify(self, request: Request) -> None:
        """Charge one classification to the request's credential: each runs the model (CPU, or an LLM
        call) for its caller alone."""
        if self.classify is None:
            return
        wait = self.classify.check(credential_key(request))
        if wait is not None:
            raise refuse(Limit.classify, wait, "classifications for this API token")

    def check_webhook(self, channel: str) -> None:
        """Charge one delivery to a channel or an export target (checked after its signature: others
        cannot spend it)."""
        if self.webhook is None:
            return
        wait = self.webhook.check(channel)
        if wait is not None:
            raise refuse(Limit.webhook, wait, f"deliveries for channel {channel!r}")

    def check_login(self, request: Request, account: str) -> None:
        """Before a password is checked: every attempt costs the client address one token, and an
        account whose failures used up its bucket is refused (even with the right password — the
        attacker cannot tell). `login_failed` charges the failure."""
        if self.login_ip is not None:
            wait = self.login_ip.check(client_key(request))
            if wait is not None:
                raise refuse(Limit.login_ip, wait, "sign-in attempts from this address")
        if self.login_account is not None:
            wait = self.login_account.wait(account_key(account))
            if wait is not None:
                raise refuse(Limit.login_account, wait, "failed sign-ins for this account")

    def login_failed(self, account: str) -> None:
        if self.login_account is not None:
            self.login_account.charge(account_key(account))


def _digest(value: str) -> str:
    """Keys never hold a credential itself: a memory dump of the limiter shows hashes."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def client_key(request: Request) -> str:
    """The client's address (after ForwardedHeaders: the original client behind trusted proxies)."""
    return f"ip:{request.client.host if request.client else 'unknown'}"


def credential_key(request: Request) -> str:
    """One bucket per credential: the Bearer token, else the session cookie, else the address."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return "token:" + _digest(credentials.strip())
    session = request.cookies.get("tt_session")
    if session:
        return "session:" + _digest(session)
    return client_key(request)


def account_key(account: str) -> str:
    return "account:" + _digest(account.strip().casefold())


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
