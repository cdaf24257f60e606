"""The Slack Events API: what an envelope says, and which message events become messages.

Only plain messages (and thread broadcasts, file shares with text) are kept. Bots, edits, deletions,
joins and the other subtypes are acknowledged and dropped, so Slack stops retrying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasktracker.channels.text import truncate_utf8
from tasktracker.errors import invalid
from tasktracker.messages.schemas import MessageIn

KEPT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# Slack's ids are about a dozen characters; these bounds keep the keys made of them (`T1:C1`,
# `C1:1700000000.000100`) within the 200-character columns on every database.
ID_MAX = 50
TS_MAX = 40


class MessageEvent(BaseModel):
    """The fields of a `message` event we read, with their types: a signed event of another shape is
    acknowledged as `malformed` (Slack would retry an error) and nothing is stored."""

    model_config = ConfigDict(extra="ignore")

    subtype: str | None = Field(default=None, max_length=100)
    bot_id: str | None = Field(default=None, max_length=ID_MAX)
    text: str | None = None
    channel: str | None = Field(default=None, max_length=ID_MAX)
    channel_type: str | None = Field(default=None, max_length=ID_MAX)
    ts: str | None = Field(default=None, max_length=TS_MAX)
    thread_ts: str | None = Field(default=None, max_length=TS_MAX)
    user: str | None = Field(default=None, max_length=ID_MAX)
    team: str | None = Field(default=None, max_length=ID_MAX)


class Envelope(BaseModel):
    """The outer body Slack posts: a URL check, or an event callback."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=100)
    challenge: str | None = Field(default=None, max_length=1000)
    event_id: str | None = Field(default=None, max_length=200)
    team_id: str | None = Field(default=None, max_length=ID_MAX)
    event: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Envelope:
        if self.type == "url_verification" and not self.challenge:
            raise ValueError("url_verification needs a challenge")
        if self.type == "event_callback" and (not self.event_id or not isinstance(self.event, dict)):
            raise ValueError("event_callback needs event_id and event")
        return self


def parse_envelope(payload: dict[str, Any]) -> Envelope:
    try:
        return Envelope.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None


@dataclass(frozen=True)
class Ignored:
    reason: str
    detail: str


@dataclass(frozen=True)
class SlackMessage:
    team_id: str
    channel_id: str
    channel_type: str | None
    ts: str
    thread_ts: str | None
    user: str | None
    text: str
    event_id: str

    @property
    def channel_key(self) -> str:
        return f"{self.team_id}:{self.channel_id}"

    def to_message_in(self, max_bytes: int) -> MessageIn:
        content, truncated = truncate_utf8(self.text, max_bytes)
        meta: dict[str, Any] = {
            "slack": {
                "team_id": self.team_id,
                "channel": self.channel_id,
                "channel_type": self.channel_type,
                "ts": self.ts,
                "thread_ts": self.thread_ts,
                "user": self.user,
                "event_id": self.event_id,
            }
        }
        if truncated:
            meta["truncated"] = True
        thread = self.thread_ts if self.thread_ts and self.thread_ts != self.ts else None
        return MessageIn(
            content=content,
            author=self.user,
            external_id=f"{self.channel_id}:{self.ts}",
            thread_external_id=f"{self.channel_id}:{thread}" if thread else None,
            sent_at=_ts_to_datetime(self.ts),
            meta=meta,
        )


def _ts_to_datetime(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def message_of(envelope: Envelope) -> SlackMessage | Ignored:
    """The message an event callback carries, or why it is not one we keep."""
    if envelope.type != "event_callback" or envelope.event is None:
        return Ignored("not_an_event", f"envelope type {envelope.type!r} carries no message")
    kind = envelope.event.get("type")
    if kind != "message":
        return Ignored("not_a_message", f"event type {str(kind)[:100]!r} is not a message")
    try:
        event = MessageEvent.model_validate(envelope.event)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        return Ignored("malformed", f"the message event has bad fields: {', '.join(fields)}")
    if event.bot_id or event.subtype == "bot_message":
        return Ignored("bot_message", "messages from bots are not stored")
    if event.subtype not in KEPT_SUBTYPES:
        return Ignored(f"subtype:{event.subtype}", f"message subtype {event.subtype!r} is not a new message")
    text = (event.text or "").strip()
    if not text:
        return Ignored("empty", "the message has no text")
    if not event.channel or not event.ts:
        return Ignored("incomplete", "the message has no channel or ts")
    return SlackMessage(
        team_id=envelope.team_id or event.team or "slack",
        channel_id=event.channel,
        channel_type=event.channel_type,
        ts=event.ts,
        thread_ts=event.thread_ts,
        user=event.user,
        text=text,
        event_id=envelope.event_id or "",
    )
