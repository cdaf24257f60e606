"""Input no database can store, refused before any endpoint sees it, the same way on SQLite and PostgreSQL
(checked by `api/edge.py` on every HTTP request and WebSocket handshake).

* NUL (`\\u0000`) and lone UTF-16 surrogates (`\\ud800`) in a JSON body, a query parameter or the path:
  PostgreSQL cannot store a NUL in text, and a surrogate cannot be encoded as UTF-8. Refused (422, or
  404 in the path) rather than stripped, so what is stored is what was sent.
* `NaN`, `Infinity` and numbers that overflow to infinity in a JSON body: not JSON, and PostgreSQL's
  JSON columns refuse them.
* JSON nested deeper than `MAX_JSON_DEPTH`: parsers and encoders recurse, and no message needs it.

A body is parsed here only when it could hold one of these: a NUL or a surrogate can only come as an
escape (`\\u0000`, `\\ud800`–`\\udfff`; raw, they are not valid JSON or not UTF-8), so bodies without
such an escape, `NaN`, `Infinity`, a long exponent or deep brackets pass untouched and are parsed once,
by the endpoint. Other escapes (`\\u00e9`, every non-ASCII letter of a client that writes ASCII-only
JSON) do not make a body suspect.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.types import Scope, Send

from tasktracker.api.errors import send_json_error

MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIG_EXPONENT = re.compile(rb"[0-9][eE][+]?[0-9]{3}")
# Escapes that may decode to a NUL or a surrogate (a superset: `\\\\u0000`, an escaped backslash, also
# matches and only costs a parse).
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise Refused(422, "invalid_characters", f"{where} contains a NUL character (\\u0000)")
    if _SURROGATE.search(value):
        raise Refused(422, "invalid_characters", f"{where} contains a lone UTF-16 surrogate")


def _reject_constant(name: str) -> Any:
    raise Refused(422, "invalid_number", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise Refused(422, "invalid_number", f"{text[:40]} is out of the range of a number")
    return value


def _might_need_checking(body: bytes) -> bool:
    return (
        (b"\\u" in body and _RISKY_ESCAPE.search(body) is not None)
        or b"NaN" in body
        or b"Infinity" in body
        or (body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(body, MAX_JSON_DEPTH))
        or _BIG_EXPONENT.search(body) is not None
    )


_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether the brackets outside strings nest deeper than `limit` (or do not pair up: the parse then
    decides), with bytes operations only: a batch of 500 messages has more than `limit` brackets, and
    parsing it here, then walking it, cost ~3% of the batch's CPU. Escaped backslashes and quotes are
    dropped first, so every quote left opens or closes a string, and what is between them is not JSON
    structure; then innermost pairs are removed, one level a round."""
    outside = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(outside.split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return False
        inner = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if inner == brackets:
            return True
        brackets = inner
    return bool(brackets)


def check_json_body(body: bytes) -> None:
    """Raise `Refused` for a body holding what cannot be stored; anything else (even invalid JSON,
    which the endpoint answers itself) passes."""
    if not _might_need_checking(body):
        return
    try:
        payload = json.loads(body, parse_constant=_reject_constant, parse_float=_finite)
    except RecursionError:
        raise Refused(422, "json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        return
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, "a string in the body")
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise Refused(422, "json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key, "a key in the body")
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


def check_url(scope: Scope) -> None:
    if "\x00" in scope.get("path", ""):
        raise Refused(404, "not_found", "Not Found")
    query = scope.get("query_string", b"")
    # Bytes that are not UTF-8 become U+FFFD when Starlette parses the query (storable); a NUL stays.
    if b"%00" in query or b"\x00" in query:
        raise Refused(422, "invalid_characters", "a query parameter contains a NUL character")


async def refuse(scope: Scope, send: Send, refused: Refused) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": refused.code})
        return
    await send_json_error(send, refused.status, refused.detail, refused.code)
