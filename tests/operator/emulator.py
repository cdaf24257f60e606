"""The real operator (`kopf.operator`) against the kmock Kubernetes API emulator.

kmock stores, lists, watches, patches and deletes objects but runs no controllers: nothing becomes
ready, nothing is garbage-collected, no uid or generation is assigned. The tests play those parts by
writing into the emulator what the API server and the controllers would (see `Cluster`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import kmock
import kopf
import yaml

from tasktracker_operator import crd

NAMESPACE = "default"
CR_PLURAL_PATH = f"/apis/{crd.GROUP}/{crd.VERSION}/namespaces/{NAMESPACE}/{crd.PLURAL}"
VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}

PATHS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    "ScaledObject": "/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects",
    "TaskTracker": CR_PLURAL_PATH.replace(NAMESPACE, "{ns}"),
}


class Cluster:
    def __init__(self, server: kmock.KubernetesEmulator) -> None:
        self.server = server

    def _path(self, kind: str, name: str | None = None) -> str:
        path = PATHS[kind].format(ns=NAMESPACE)
        return f"{path}/{name}" if name else path

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        response = await self.server.get(self._path(kind, name))
        if response.status == 404:
            return None
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result

    async def list(self, kind: str) -> list[dict[str, Any]]:
        response = await self.server.get(self._path(kind))
        if response.status == 404:
            return []
        return list((await response.json())["items"])

    async def create(self, obj: dict[str, Any]) -> None:
        """As the API server does: a uid, generation 1, a creation time."""
        obj = dict(obj)
        meta = obj["metadata"] = {**obj["metadata"], "namespace": NAMESPACE}
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("generation", 1)
        meta.setdefault("resourceVersion", "1")  # kopf guards its JSON patches with a test of it
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        response = await self.server.post(self._path(obj["kind"]), json=obj)
        assert response.status in (200, 201), await response.text()

    async def patch(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        response = await self.server.patch(
            self._path(kind, name), json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status == 200, await response.text()

    async def change_spec(self, name: str, spec_patch: dict[str, Any]) -> None:
        """A spec change as the API server records it: the generation goes up."""
        current = await self.get("TaskTracker", name)
        assert current is not None
        generation = int(current["metadata"].get("generation", 1)) + 1
        await self.patch("TaskTracker", name, {"spec": spec_patch, "metadata": {"generation": generation}})

    async def delete(self, kind: str, name: str) -> None:
        response = await self.server.delete(self._path(kind, name))
        assert response.status == 200, await response.text()

    async def set_ready(self, kind: str, name: str, replicas: int = 1) -> None:
        """What the Deployment/StatefulSet controller would write once the pods are ready."""
        await self.patch(kind, name, {"status": {"replicas": replicas, "readyReplicas": replicas}})

    async def finish_job(self, name: str, succeeded: bool, reason: str = "", message: str = "") -> None:
        """What the Job controller writes when a Job completes or fails."""
        if succeeded:
            status = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
        else:
            condition = {"type": "Failed", "status": "True", "reason": reason, "message": message}
            status = {"failed": 3, "conditions": [condition]}
        await self.patch("Job", name, {"status": status})

    async def condition(self, name: str, type_: str) -> dict[str, Any] | None:
        tracker = await self.get("TaskTracker", name)
        for condition in ((tracker or {}).get("status") or {}).get("conditions") or ():
            if condition["type"] == type_:
                return dict(condition)
        return None

    async def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Poll `probe` (async) until it returns something truthy; fail naming `what` otherwise."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = await probe()
            if last:
                return last
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


@contextlib.asynccontextmanager
async def bounded_history(server: kmock.KubernetesEmulator, keep: int = 10) -> AsyncIterator[None]:
    """Forget all but the latest requests now and then.

    kmock keeps every request and matches each new one against that whole history, so a request
    costs O(requests so far): with an operator re-checking several times a second, a test slows to
    a crawl within a minute. The tests assert on objects, never on the request log, so trimming it
    (keeping the in-flight tail) changes nothing they see. This touches kmock internals (0.8).
    """

    async def trim() -> None:
        while True:
            await asyncio.sleep(0.1)
            del server._requests[:-keep]
            for payload in server._payloads:
                del payload._requests[:-keep]

    task = asyncio.create_task(trim())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "emulator",
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator"}}],
        "clusters": [{"name": "emulator", "cluster": {"server": server}}],
        "users": [{"name": "emulator", "user": {"token": "test-token"}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def declare_resources(server: kmock.KubernetesEmulator, keda: bool) -> None:
    server.resources.load_bundled()
    server.resources[f"{crd.GROUP}/{crd.VERSION}/{crd.PLURAL}"] = kmock.ResourceInfo(
        kind=crd.KIND,
        singular=crd.SINGULAR,
        namespaced=True,
        verbs=VERBS,
        shortnames=set(crd.SHORT_NAMES),
        subresources={"status"},
    )
    if keda:
        server.resources["keda.sh/v1alpha1/scaledobjects"] = kmock.ResourceInfo(
            kind="ScaledObject",
            singular="scaledobject",
            namespaced=True,
            verbs=VERBS,
            subresources={"status"},
        )


class _TasksNotOfKopf(Collection[asyncio.Task[Any]]):
    """What kopf must leave alone when it stops.

    On exit kopf cancels every task created after it started, after waiting 5 s for them: that
    would include pytest's fixture tasks and the emulator's connection handlers. Only tasks running
    kopf's own coroutines are kopf's.
    """

    def __init__(self, before: set[asyncio.Task[Any]]) -> None:
        self.before = before

    def __contains__(self, task: object) -> bool:
        if task in self.before or not isinstance(task, asyncio.Task):
            return True
        code = getattr(task.get_coro(), "cr_code", None)
        return code is None or f"{os.sep}kopf{os.sep}" not in code.co_filename

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(self.before)

    def __len__(self) -> int:
        return len(self.before)


@contextlib.asynccontextmanager
async def running_operator() -> AsyncIterator[None]:
    """`kopf.operator()` as an asyncio task, stopped with its stop flag."""
    import tasktracker_operator.main  # noqa: F401  # registers the handlers in kopf's default registry

    settings = kopf.OperatorSettings()
    settings.scanning.disabled = True
    settings.posting.enabled = False
    settings.watching.reconnect_backoff = 0.1
    settings.background.instant_exit_timeout = 5  # let a running pass finish on stop
    stop = asyncio.Event()
    ready = asyncio.Event()
    ignored = _TasksNotOfKopf(set(asyncio.all_tasks()))
    tasks = await kopf.spawn_tasks(
        settings=settings, clusterwide=True, standalone=True, stop_flag=stop, ready_flag=ready
    )
    runner = asyncio.create_task(kopf.run_tasks(tasks, ignored=ignored))
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=20)
