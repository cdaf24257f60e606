"""Checked credentials, kept in memory for a short time so a request with a known session or API
token costs no database round trip.

Keys are the SHA-256 of the credential (never the credential). An entry lives `ttl` seconds or until
the credential itself expires, whichever is first; anything that changes what a user may do (revoke,
sign-out, disable, role change, deletion) drops that user's entries at once in this process, and the
`access.changed` event does the same in every other process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from tasktracker.auth.principal import Principal

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Entry:
    principal: Principal
    deadline: float  # time.monotonic()


class PrincipalCache:
    def __init__(self, ttl_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.deadline <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry.principal

    def put(self, key: str, principal: Principal, valid_for_s: float | None = None) -> None:
        """Remember a checked credential; `valid_for_s`: how long the credential itself still lives."""
        ttl = self.ttl_s if valid_for_s is None else min(self.ttl_s, valid_for_s)
        if ttl <= 0:
            return
        self._entries[key] = Entry(principal, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_user(self, user_id: int) -> None:
        for key in [k for k, e in self._entries.items() if e.principal.user_id == user_id]:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
