"""Keep the JetStream stream and consumer in step with the settings.

taskiq-nats creates them when missing, but an existing stream with other settings is only "reused"
and an existing consumer's settings are not compared: a changed `TASKTRACKER_JOB_MAX_AGE_S`,
`_JOB_ACK_WAIT_S` or `_JOB_MAX_DELIVER` would silently not apply. Here each difference is updated
in place when JetStream allows it, and refused with the reason (and the way out) when it does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

# Fields compared, and which of them JetStream cannot change on an existing stream or consumer.
STREAM_FIELDS = ("subjects", "retention", "storage", "max_age")
STREAM_FIXED = {"retention", "storage"}
CONSUMER_FIELDS = ("ack_policy", "ack_wait", "max_deliver", "max_ack_pending", "filter_subject")
CONSUMER_FIXED = {"ack_policy"}


class JetStreamSettingsError(RuntimeError):
    """The stream or consumer exists with settings that cannot be changed in place."""


@dataclass(frozen=True)
class Change:
    field: str
    current: Any
    wanted: Any

    def __str__(self) -> str:
        return f"{self.field} {self.current!r} -> {self.wanted!r}"


def _normalised(field: str, value: Any) -> Any:
    if field in ("max_age", "ack_wait") and value is not None:
        return round(float(value), 3)  # seconds; the server answers in nanoseconds converted back
    if field == "subjects" and value is not None:
        return sorted(value)
    return value


def differences(current: Any, wanted: Any, fields: tuple[str, ...]) -> list[Change]:
    changes = []
    for field in fields:
        want = _normalised(field, getattr(wanted, field))
        if want is None:
            continue  # not set by us: whatever the server has
        have = _normalised(field, getattr(current, field))
        if have != want:
            changes.append(Change(field, have, want))
    return changes


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> list[Change]:
    """Create the stream, or update the fields that differ; returns the changes made."""
    assert config.name is not None
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config=config)
        log.info("created JetStream stream %s", config.name)
        return []
    changes = differences(info.config, config, STREAM_FIELDS)
    fixed = [change for change in changes if change.field in STREAM_FIXED]
    if fixed:
        raise JetStreamSettingsError(
            f"JetStream stream {config.name} exists with {', '.join(map(str, fixed))}, which JetStream "
            f"cannot change in place: drain the workers and delete the stream (nats stream rm {config.name}) "
            "to have it made anew, or use another TASKTRACKER_NATS_STREAM"
        )
    if changes:
        await js.update_stream(config=config)
        log.info("updated JetStream stream %s: %s", config.name, ", ".join(map(str, changes)))
    return changes


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> list[Change]:
    """Create the durable consumer, or update the fields that differ; returns the changes made."""
    assert config.durable_name is not None
    try:
        info = await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream=stream, config=config)
        log.info("created JetStream consumer %s on %s", config.durable_name, stream)
        return []
    changes = differences(info.config, config, CONSUMER_FIELDS)
    fixed = [change for change in changes if change.field in CONSUMER_FIXED]
    if fixed:
        raise JetStreamSettingsError(
            f"JetStream consumer {config.durable_name} exists with {', '.join(map(str, fixed))}, which "
            f"cannot change in place: delete it (nats consumer rm {stream} {config.durable_name}) or use "
            "another TASKTRACKER_NATS_DURABLE"
        )
    if changes:
        await js.add_consumer(stream=stream, config=config)  # JetStream updates a durable's editable fields
        log.info("updated JetStream consumer %s: %s", config.durable_name, ", ".join(map(str, changes)))
    return changes
