"""Where exports may connect: public addresses only, unless an admin allows a host or network.

An export target's URL is chosen by an admin, but its answers (GitHub's `Link: next`, a redirect) and
its DNS are not: without a check the worker could be made to talk to the cluster's own services or to
a cloud metadata endpoint (169.254.169.254). So:

- when a target is created or its settings change, every URL's host is resolved and every address it
  resolves to must be public (`check_url`, a 422 otherwise);
- at send time the same check runs again on every request's URL (DNS may have changed since; a
  `Link: next` page or any other URL a tracker hands back is checked like the target's own), and
  the connection itself is made only to addresses checked at that moment: the transport resolves the
  host once, checks every address and connects to those, so a name that resolves to a public address
  for the check and a private one for the connection (DNS rebinding) gets nowhere;
- redirects are never followed (the clients treat a 3xx as a refusal).

`TASKTRACKER_EXPORT_ALLOWED_HOSTS` lists host names and IP addresses or networks (CIDR) that are
allowed anyway: a Jira Server on the office network, a webhook receiver inside the cluster, the test
suite's stand-ins on 127.0.0.1. An egress proxy set by the operator in `HTTPS_PROXY` is used as
httpx always does and is not checked itself (the request's URL still is, by name, before it goes).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import httpcore
import httpx

from tasktracker.config import Settings
from tasktracker.exports.clients.base import Permanent

Address = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = IPv6Network("64:ff9b::/96")


class TargetRefused(Permanent):
    """The URL's host is (or resolves to) an address exports may not reach."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is its own); `socket.gaierror` when none."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address (they reach it), else itself."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def why_not_public(address: Address) -> str | None:
    """What kind of non-public address this is (`"loopback"`, `"private"` ...), or None for a public one."""
    inner = _embedded(address)
    for kind, test in (
        ("unspecified", inner.is_unspecified),
        ("loopback", inner.is_loopback),
        ("link-local", inner.is_link_local),
        ("multicast", inner.is_multicast),
        ("private", inner.is_private),
        ("reserved", inner.is_reserved),
    ):
        if test:
            return kind
    if not inner.is_global:  # e.g. 100.64.0.0/10, shared address space behind carrier NAT
        return "non-public"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts exports may reach: public addresses, and whatever the allow-list names."""

    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[Any, ...] = ()  # IPv4Network | IPv6Network
    resolver: Resolver = resolve
    # A name that takes longer to resolve is let through at creation (it is checked again at send time).
    resolve_timeout_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls.from_list(settings.export_allowed_host_list)

    @classmethod
    def from_list(cls, items: Iterable[str], resolver: Resolver = resolve) -> EgressPolicy:
        names: set[str] = set()
        networks = []
        for item in items:
            item = item.strip().strip("[]")
            if not item:
                continue
            try:
                networks.append(ip_network(item, strict=False))
            except ValueError:
                names.add(_normal(item))
        return cls(frozenset(names), tuple(networks), resolver)

    def name_allowed(self, host: str) -> bool:
        return _normal(host) in self.allowed_names

    def refusal(self, host: str, address: Address) -> str | None:
        """Why connecting to `address` (which `host` resolved to) is refused, or None when it is not."""
        if any(address in network or _embedded(address) in network for network in self.allowed_networks):
            return None
        kind = why_not_public(address)
        if kind is None:
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        if ip_address_or_none(host) == address:
            shown = f"{address} is {article} {kind} address"
        else:
            shown = f"{host} resolves to {address}, {article} {kind} address"
        return (
            f"{shown}: exports reach public addresses only (allow it with TASKTRACKER_EXPORT_ALLOWED_HOSTS)"
        )

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of `host` that may be connected to; `TargetRefused` when any may not.

        Every address is checked, not only the first: a name that resolves to one public and one
        private address is refused (the connection could go to either). A host named in the
        allow-list is not checked. A host that does not resolve raises `OSError` (`socket.gaierror`).
        """
        host = host.strip("[]")
        found = await self.resolver(host, port)
        if self.name_allowed(host):
            return found
        for text in found:
            reason = self.refusal(host, ip_address(text.split("%", 1)[0]))
            if reason:
                raise TargetRefused(reason)
        return found

    async def check_url(self, url: str | httpx.URL) -> None:
        """`TargetRefused` when the URL's host is not one exports may reach. A name that does not
        resolve passes (there is nothing to reach yet): the check at send time covers it."""
        parsed = httpx.URL(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise TargetRefused(f"{parsed} is not an http(s) URL with a host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            await asyncio.wait_for(self.addresses(parsed.host, port), self.resolve_timeout_s)
        except (OSError, UnicodeError, TimeoutError):
            return

    async def _check_request(self, request: httpx.Request) -> None:
        await self.check_url(request.url)

    def transport(self, **kwargs: Any) -> httpx.AsyncHTTPTransport:
        """An httpx transport whose connections go only to addresses this policy allows."""
        transport = httpx.AsyncHTTPTransport(**kwargs)
        pool = transport._pool  # httpx offers no other way to give httpcore a network backend
        pool._network_backend = _CheckedBackend(self, pool._network_backend)
        return transport

    def client(self, timeout: float) -> httpx.AsyncClient:
        """The HTTP client exports talk to trackers with: checked connections, no redirects followed."""
        return httpx.AsyncClient(
            timeout=timeout,
            transport=self.transport(),
            follow_redirects=False,
            event_hooks={"request": [self._check_request]},
        )


def ip_address_or_none(host: str) -> Address | None:
    try:
        return ip_address(_normal(host))
    except ValueError:
        return None


def _normal(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, then connects to those addresses only."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self.policy = policy
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses: Sequence[str] = await self.policy.addresses(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("exports do not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
