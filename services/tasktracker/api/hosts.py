"""Who may address the API, and whose `X-Forwarded-*` headers count (both applied by `api/edge.py`).

* `host_trusted`: a request whose `Host` is not a configured name (`TASKTRACKER_TRUSTED_HOSTS`; the
  loopback names always) is refused with 400 `untrusted_host`: a page on a rebinding domain that
  resolves to a loopback install cannot talk to it. Health checks pass whatever the Host (probes
  address pods by IP and learn nothing from them).
* `ForwardedHeaders`: `X-Forwarded-For/-Proto/-Host/-Prefix` and `Forwarded` are believed only from
  `TASKTRACKER_FORWARDED_ALLOW_IPS` (loopback by default); from anyone else they are removed before
  the app sees them, so neither the access log nor `/api/config`'s `ws_url` can be forged. Behind
  trusted proxies the client is the right-most `X-Forwarded-For` address that is not itself a trusted
  proxy: each proxy appends the address it saw, so whatever a client wrote further left is only its
  own claim (with `*` every hop is trusted, and the left-most entry is all there is to go by).
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any, cast

from starlette.types import Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tasktracker.api.errors import send_json_error

UNCHECKED_PATHS = ("/api/health",)


def host_of(value: str) -> str:
    """The host name of a `Host` header (or an origin's netloc), lower-case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or host == pattern.rstrip("."):
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
    return False


def host_trusted(scope: Scope, allowed: list[str]) -> bool:
    """Whether the request's `Host` is one served here (health checks pass whatever it is)."""
    if scope["path"].startswith(UNCHECKED_PATHS):
        return True
    return host_allowed(host_of(_host_header(scope)), allowed)


def _host_header(scope: Scope) -> str:
    return next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")


async def refuse_host(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "untrusted_host"})
        return
    header = _host_header(scope)
    await send_json_error(
        send,
        400,
        f"Host {header[:100]!r} is not served here: add it to TASKTRACKER_TRUSTED_HOSTS",
        "untrusted_host",
    )


def _host_only(hop: str) -> str:
    """`203.0.113.7:5000` -> `203.0.113.7`, `[2001:db8::1]:443` -> `2001:db8::1`; bare IPv6 stays."""
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    return hop.rsplit(":", 1)[0] if hop.count(":") == 1 else hop


def _networks(allowed: list[str]) -> list[IPv4Network | IPv6Network] | None:
    """None means every peer is trusted (`*`)."""
    if "*" in allowed:
        return None
    return [ip_network(item, strict=False) for item in allowed]


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


class ForwardedHeaders:
    """Applied first, so it sees the real peer: from a trusted proxy, uvicorn's own middleware applies
    `X-Forwarded-For/-Proto` to the scope; from anyone else every forwarding header is dropped."""

    def __init__(self, allowed: list[str]) -> None:
        self.networks = _networks(allowed)
        # uvicorn's own, typed with its ASGI types, run for what it does to the scope; the peer has
        # been checked by then.
        self.proxied: Any = ProxyHeadersMiddleware(cast(Any, _nothing), trusted_hosts="*")

    def trusts(self, scope: Scope) -> bool:
        if self.networks is None:
            return True
        client = scope.get("client")
        if not client:
            return False
        return self._is_proxy(client[0], unix_socket=True)

    def _is_proxy(self, address: str, *, unix_socket: bool = False) -> bool:
        if self.networks is None:
            return True
        try:
            peer = ip_address(address.strip().strip("[]"))
        except ValueError:  # a Unix socket path (a proxy on this machine), or a name
            return unix_socket
        if peer.version == 6 and peer.ipv4_mapped is not None:  # a dual-stack socket's IPv4 peer
            peer = peer.ipv4_mapped
        return any(peer in network for network in self.networks)

    def _client_of_chain(self, scope: Scope) -> None:
        """Leave one `X-Forwarded-For` address: the right-most one that is not a trusted proxy (uvicorn's
        middleware, told to trust the peer, would take the left-most — the one the client wrote)."""
        values = [v.decode("latin1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        if not values or self.networks is None:
            return
        hops = [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]
        if not hops:
            return
        client = next((hop for hop in reversed(hops) if not self._is_proxy(_host_only(hop))), hops[0])
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-forwarded-for"]
        scope["headers"] = [*headers, (b"x-forwarded-for", client.encode("latin1"))]

    async def apply(self, scope: Scope) -> None:
        """Rewrite an HTTP or WebSocket scope as its forwarding headers say, if they are to be believed."""
        if self.trusts(scope):
            self._client_of_chain(scope)
            await self.proxied(scope, None, None)
            return
        scope["headers"] = [
            (k, v) for k, v in scope["headers"] if not (k.startswith(b"x-forwarded-") or k == b"forwarded")
        ]
