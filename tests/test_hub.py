"""The hub's own timing: heartbeats follow the feed's silence; a client's task is woken without an event."""

from __future__ import annotations

import asyncio
import json

from tasktracker.events import schemas as events
from tasktracker.events.bus import InProcessBus
from tasktracker.events.hub import WAKE, Hub


def _types(queue: asyncio.Queue[str | None]) -> list[str]:
    found = []
    while not queue.empty():
        payload = queue.get_nowait()
        found.append(json.loads(payload)["type"] if payload else repr(payload))
    return found


async def test_a_heartbeat_goes_to_every_client_after_the_feeds_silence_and_not_while_events_flow() -> None:
    hub = Hub(queue_size=16, heartbeat_s=0.2)
    first, second = hub.register(object()), hub.register(object())  # type: ignore[arg-type]
    hub.start(InProcessBus())
    try:
        for _ in range(4):  # an event every 0.1 s: never 0.2 s of silence
            await asyncio.sleep(0.1)
            hub.broadcast(events.task_deleted(1))
        assert _types(first.queue) == ["task.deleted"] * 4
        await asyncio.sleep(0.3)  # silence
        assert _types(first.queue) == ["heartbeat"]
        assert _types(second.queue) == ["task.deleted"] * 4 + ["heartbeat"]
    finally:
        await hub.stop()


async def test_wake_gives_the_clients_task_something_to_look_at_even_with_nothing_to_send() -> None:
    hub = Hub(queue_size=1)
    client = hub.register(object())  # type: ignore[arg-type]
    client.wake()
    assert client.queue.get_nowait() == WAKE
    hub.broadcast(events.heartbeat())
    client.wake()  # a full queue wakes the task anyway: no error
    assert client.queue.qsize() == 1


async def test_listeners_get_every_event_internal_ones_included_from_the_hubs_one_subscription() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    class Recorder:
        def on_event(self, event: events.Event) -> None:
            seen.append(event.type)

        def on_gap(self) -> None:  # pragma: no cover - the in-process bus never fails
            seen.append("gap")

    hub = Hub()
    client = hub.register(object())  # type: ignore[arg-type]
    hub.start(bus, [Recorder()])
    try:
        await asyncio.sleep(0)  # the hub subscribes
        await bus.publish(events.access_changed(7))
        await bus.publish(events.task_deleted(1))
        for _ in range(10):
            await asyncio.sleep(0)
        assert seen == ["access.changed", "task.deleted"]
        assert _types(client.queue) == ["task.deleted"]  # internal events stay in the process
        assert len(bus._subscribers) == 1
    finally:
        await hub.stop()
