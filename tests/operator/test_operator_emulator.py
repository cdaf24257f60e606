"""The real operator against the kmock API emulator: the scenarios of the operator issue.

The emulator runs no controllers, so each test plays them: it writes a StatefulSet's or Deployment's
ready replicas, a Job's completion or failure, the replicas KEDA would set — and watches what the
operator does about it.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kmock
import pytest

from tasktracker_operator.builders.common import migrate_job_name, pull_job_name
from tests.operator.emulator import Cluster, bounded_history, declare_resources, kubeconfig, running_operator

pytestmark = pytest.mark.timeout(120)

NAME = "tasktracker"
MODEL = "qwen2.5:3b-instruct"
PAUSED = "autoscaling.keda.sh/paused-replicas"


@pytest.fixture
def keda() -> bool:
    return True


@pytest.fixture
async def cluster(
    kmock: kmock.KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keda: bool
) -> AsyncIterator[Cluster]:
    declare_resources(kmock, keda=keda)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))))
    async with bounded_history(kmock), running_operator():
        yield Cluster(kmock)


def _owner_uid(obj: dict[str, Any]) -> str | None:
    refs = obj["metadata"].get("ownerReferences") or []
    controllers = [ref for ref in refs if ref.get("controller")]
    return controllers[0]["uid"] if controllers else None


def _image(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


async def _condition_is(cluster: Cluster, type_: str, status: str, reason: str | None = None) -> Any:
    async def probe() -> dict[str, Any] | None:
        condition = await cluster.condition(NAME, type_)
        if condition and condition["status"] == status and (reason is None or condition["reason"] == reason):
            return condition
        return None

    return await cluster.wait_for(f"{type_}={status} ({reason})", probe)


async def _exists(cluster: Cluster, kind: str, name: str) -> dict[str, Any]:
    return await cluster.wait_for(f"{kind} {name}", lambda: cluster.get(kind, name))  # type: ignore[no-any-return]


async def _ready(cluster: Cluster, kind: str, name: str, replicas: int = 1) -> None:
    await _exists(cluster, kind, name)
    await cluster.set_ready(kind, name, replicas)


async def _finish(
    cluster: Cluster, job: str, succeeded: bool = True, reason: str = "", message: str = ""
) -> None:
    await _exists(cluster, "Job", job)
    await cluster.finish_job(job, succeeded, reason, message)


async def _bring_up(cluster: Cluster, sample: dict[str, Any]) -> None:
    """Create the sample and play every controller until the TaskTracker is Ready."""
    await cluster.create(sample)
    await _ready(cluster, "StatefulSet", f"{NAME}-postgres")
    await _ready(cluster, "StatefulSet", f"{NAME}-nats")
    await _ready(cluster, "Deployment", f"{NAME}-ollama")
    await _finish(cluster, pull_job_name(NAME, MODEL))
    await _finish(cluster, migrate_job_name(NAME, "0.1.0"))
    await _ready(cluster, "Deployment", f"{NAME}-api", replicas=2)
    await _ready(cluster, "Deployment", f"{NAME}-dashboard")
    await _condition_is(cluster, "Ready", "True")


async def test_minimal_sample_creates_owned_children_and_conditions(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await cluster.create(minimal_sample)
    await _exists(cluster, "Deployment", f"{NAME}-ollama")
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None
    uid = tracker["metadata"]["uid"]
    for kind, name in [
        ("Secret", f"{NAME}-app"),
        ("Secret", f"{NAME}-postgres"),
        ("Service", f"{NAME}-postgres"),
        ("StatefulSet", f"{NAME}-postgres"),
        ("Service", f"{NAME}-nats"),
        ("StatefulSet", f"{NAME}-nats"),
        ("PersistentVolumeClaim", f"{NAME}-nats-data"),
        ("Service", f"{NAME}-ollama"),
        ("Deployment", f"{NAME}-ollama"),
    ]:
        child = await _exists(cluster, kind, name)
        assert _owner_uid(child) == uid, f"{kind} {name} is not owned by the TaskTracker"
    # The database's claim survives the TaskTracker unless asked: no owner reference.
    claim = await _exists(cluster, "PersistentVolumeClaim", f"{NAME}-postgres-data")
    assert not claim["metadata"].get("ownerReferences")

    database = await _condition_is(cluster, "DatabaseReady", "False", "Starting")
    assert "tasktracker-postgres" in database["message"]
    await _condition_is(cluster, "Ready", "False")
    await _condition_is(cluster, "ModelsReady", "False", "WaitingForOllama")
    # Nothing of the app before the database is migrated.
    assert await cluster.get("Deployment", f"{NAME}-api") is None
    assert await cluster.get("Job", migrate_job_name(NAME, "0.1.0")) is None


async def test_readiness_of_children_makes_the_tasktracker_ready(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await _bring_up(cluster, minimal_sample)
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None
    status = tracker["status"]
    assert status["phase"] == "Ready"
    assert status["version"] == "0.1.0"
    assert status["modelsReady"] == "1/1"
    assert status["dashboardUrl"] == f"http://{NAME}-dashboard.default.svc:8080"
    assert status["observedGeneration"] == 1
    types = {c["type"]: c["status"] for c in status["conditions"]}
    assert types == {
        "Ready": "True",
        "DatabaseReady": "True",
        "BrokerReady": "True",
        "ModelsReady": "True",
        "WorkersScaling": "True",
        "Degraded": "False",
    }
    scaled = await _exists(cluster, "ScaledObject", f"{NAME}-worker")
    assert PAUSED not in (scaled["metadata"].get("annotations") or {})
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "nats-jetstream"
    assert trigger["metadata"]["consumer"] == "tasktracker_workers"
    assert trigger["metadata"]["stream"] == "tasktracker_jobs"
    worker = await _exists(cluster, "Deployment", f"{NAME}-worker")
    assert _owner_uid(worker) == tracker["metadata"]["uid"]
    assert _image(worker) == "ghcr.io/tasktracker/tasktracker:0.1.0"


async def test_version_and_max_replicas_roll_out_without_touching_worker_replicas(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await _bring_up(cluster, minimal_sample)
    secret_before = await cluster.get("Secret", f"{NAME}-postgres")
    # KEDA scaled the workers to 3: that number is KEDA's, not the operator's.
    await cluster.patch("Deployment", f"{NAME}-worker", {"spec": {"replicas": 3}})

    await cluster.change_spec(NAME, {"version": "0.2.0", "workers": {"maxReplicas": 9}})

    async def max_replicas_patched() -> bool:
        scaled = await cluster.get("ScaledObject", f"{NAME}-worker")
        return bool(scaled and scaled["spec"]["maxReplicaCount"] == 9)

    await cluster.wait_for("the ScaledObject's maxReplicaCount", max_replicas_patched)
    migration = migrate_job_name(NAME, "0.2.0")
    await _exists(cluster, "Job", migration)
    await _condition_is(cluster, "Ready", "False", "Migrating")
    # Before its migration succeeds, nothing runs the new version.
    api = await cluster.get("Deployment", f"{NAME}-api")
    assert api is not None and _image(api).endswith(":0.1.0")

    await cluster.finish_job(migration, succeeded=True)

    async def rolled() -> bool:
        api = await cluster.get("Deployment", f"{NAME}-api")
        worker = await cluster.get("Deployment", f"{NAME}-worker")
        return bool(api and worker and _image(api).endswith(":0.2.0") and _image(worker).endswith(":0.2.0"))

    await cluster.wait_for("api and worker images at 0.2.0", rolled)
    worker = await cluster.get("Deployment", f"{NAME}-worker")
    assert worker is not None and worker["spec"]["replicas"] == 3
    dashboard = await cluster.get("Deployment", f"{NAME}-dashboard")
    assert dashboard is not None and _image(dashboard) == "ghcr.io/tasktracker/tasktracker-dashboard:0.2.0"
    tracker = await cluster.wait_for(
        "status.version 0.2.0",
        lambda: _tracker_where(cluster, lambda t: t["status"].get("version") == "0.2.0"),
    )
    assert tracker["status"]["observedGeneration"] == 2
    # The generated database password was not regenerated by the re-reconciliation.
    assert await cluster.get("Secret", f"{NAME}-postgres") == secret_before


async def _tracker_where(cluster: Cluster, predicate: Any) -> dict[str, Any] | None:
    tracker = await cluster.get("TaskTracker", NAME)
    return tracker if tracker and predicate(tracker) else None


async def test_failed_migration_keeps_the_old_version_and_says_why(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await _bring_up(cluster, minimal_sample)
    await cluster.change_spec(NAME, {"version": "0.3.0"})
    migration = migrate_job_name(NAME, "0.3.0")
    await _exists(cluster, "Job", migration)
    await cluster.finish_job(
        migration,
        succeeded=False,
        reason="BackoffLimitExceeded",
        message="Job has reached the specified backoff limit",
    )

    degraded = await _condition_is(cluster, "Degraded", "True", "MigrationFailed")
    assert "0.3.0" in degraded["message"] and "BackoffLimitExceeded" in degraded["message"]
    assert "still running 0.1.0" in degraded["message"]
    api = await cluster.get("Deployment", f"{NAME}-api")
    assert api is not None and _image(api).endswith(":0.1.0")
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None and tracker["status"]["version"] == "0.1.0"
    assert tracker["status"]["phase"] == "Degraded"


async def test_model_pull_failure_is_reported_retried_and_workers_follow(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await cluster.create(minimal_sample)
    await _ready(cluster, "StatefulSet", f"{NAME}-postgres")
    await _ready(cluster, "StatefulSet", f"{NAME}-nats")
    await _ready(cluster, "Deployment", f"{NAME}-ollama")
    await _finish(cluster, migrate_job_name(NAME, "0.1.0"))
    pull = pull_job_name(NAME, MODEL)
    first = await _exists(cluster, "Job", pull)
    assert first["spec"]["template"]["spec"]["containers"][0]["command"] == ["ollama", "pull", MODEL]

    # The workers are held at zero while the model is missing.
    scaled = await _exists(cluster, "ScaledObject", f"{NAME}-worker")
    assert scaled["metadata"]["annotations"][PAUSED] == "0"
    worker = await _exists(cluster, "Deployment", f"{NAME}-worker")
    assert worker["spec"]["replicas"] == 0
    await _condition_is(cluster, "WorkersScaling", "False", "WaitingForModels")

    await cluster.finish_job(
        pull,
        succeeded=False,
        reason="BackoffLimitExceeded",
        message="pull model manifest: file does not exist",
    )
    failed = await _condition_is(cluster, "ModelsReady", "False", "PullFailed")
    assert "file does not exist" in failed["message"] and MODEL in failed["message"]
    await _condition_is(cluster, "Degraded", "True", "ModelPullFailed")
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None
    model = tracker["status"]["models"][0]
    assert model["state"] == "Failed" and model["attempts"] == 1 and model["retryAt"]

    # Retried after the backoff (1 s in the tests): a fresh Job, which succeeds this time.
    async def fresh_job() -> dict[str, Any] | None:
        job = await cluster.get("Job", pull)
        return job if job and not (job.get("status") or {}).get("conditions") else None

    await cluster.wait_for("a new pull Job after the backoff", fresh_job)
    await cluster.finish_job(pull, succeeded=True)
    await _condition_is(cluster, "ModelsReady", "True", "Pulled")

    async def unpaused() -> bool:
        scaled = await cluster.get("ScaledObject", f"{NAME}-worker")
        return bool(scaled and PAUSED not in (scaled["metadata"].get("annotations") or {}))

    await cluster.wait_for("the ScaledObject unpaused", unpaused)
    await _condition_is(cluster, "WorkersScaling", "True", "KEDA")


async def test_invalid_spec_gets_a_condition_and_nothing_is_applied(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    # An API server without CEL (or the emulator) admits what the CRD's rule refuses; the operator does not.
    sample = copy.deepcopy(minimal_sample)
    sample["spec"]["workers"] = {"minReplicas": 5, "maxReplicas": 2}
    await cluster.create(sample)
    ready = await _condition_is(cluster, "Ready", "False", "InvalidSpec")
    assert "workers.minReplicas must not be greater than workers.maxReplicas" in ready["message"]
    await _condition_is(cluster, "Degraded", "True", "InvalidSpec")
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None and tracker["status"]["phase"] == "Invalid"
    assert await cluster.list("Secret") == []
    assert await cluster.list("StatefulSet") == []
    assert await cluster.list("Deployment") == []

    # Fixing the spec reconciles it.
    await cluster.change_spec(NAME, {"workers": {"minReplicas": 1}})
    await _exists(cluster, "StatefulSet", f"{NAME}-postgres")


async def test_missing_referenced_secret_is_invalid(cluster: Cluster, minimal_sample: dict[str, Any]) -> None:
    sample = copy.deepcopy(minimal_sample)
    sample["spec"]["bot"] = {"enabled": True, "tokenSecretRef": {"name": "telegram"}}
    await cluster.create(sample)
    ready = await _condition_is(cluster, "Ready", "False", "InvalidSpec")
    assert "Secret 'telegram' does not exist" in ready["message"]
    assert await cluster.list("StatefulSet") == []


@pytest.mark.parametrize("keda", [False])
async def test_without_keda_an_hpa_scales_the_workers(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await _bring_up(cluster, minimal_sample)
    hpa = await _exists(cluster, "HorizontalPodAutoscaler", f"{NAME}-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{NAME}-worker"
    assert hpa["spec"]["maxReplicas"] == 5
    scaling = await _condition_is(cluster, "WorkersScaling", "True", "HPAFallback")
    assert "KEDA is not installed" in scaling["message"]
    assert await cluster.get("ScaledObject", f"{NAME}-worker") is None
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None and tracker["status"]["scaler"] == "HPA"


@pytest.mark.parametrize("delete_data", [False, True])
async def test_delete_runs_the_finalizer_and_keeps_the_database_claim_unless_asked(
    cluster: Cluster, minimal_sample: dict[str, Any], delete_data: bool
) -> None:
    sample = copy.deepcopy(minimal_sample)
    sample["spec"]["postgres"] = {"deleteDataOnRemove": delete_data}
    await cluster.create(sample)
    await _exists(cluster, "PersistentVolumeClaim", f"{NAME}-postgres-data")

    async def has_finalizer() -> bool:
        tracker = await cluster.get("TaskTracker", NAME)
        return bool(tracker and tracker["metadata"].get("finalizers"))

    await cluster.wait_for("the operator's finalizer", has_finalizer)
    await cluster.delete("TaskTracker", NAME)

    async def gone() -> bool:
        return await cluster.get("TaskTracker", NAME) is None

    await cluster.wait_for("the TaskTracker released by the finalizer", gone)
    claim = await cluster.get("PersistentVolumeClaim", f"{NAME}-postgres-data")
    assert (claim is None) == delete_data


async def test_turning_ollama_off_removes_its_server_and_models_stop_gating(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await cluster.create(minimal_sample)
    await _exists(cluster, "Deployment", f"{NAME}-ollama")
    await _condition_is(cluster, "ModelsReady", "False")
    await cluster.change_spec(NAME, {"ollama": {"enabled": False}})

    async def ollama_gone() -> bool:
        return await cluster.get("Deployment", f"{NAME}-ollama") is None

    await cluster.wait_for("the Ollama Deployment deleted", ollama_gone)
    assert await cluster.get("Service", f"{NAME}-ollama") is None
    await _condition_is(cluster, "ModelsReady", "True", "OllamaDisabled")
    config = await cluster.get("ConfigMap", f"{NAME}-config")
    assert config is not None and config["data"]["TASKTRACKER_CLASSIFIER"] == "builtin"


async def test_webhook_bot_registers_its_url_and_a_failure_degrades(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "telegram"},
            "data": {"token": "MTIzOmFiYw=="},
        }
    )
    sample = copy.deepcopy(minimal_sample)
    sample["spec"]["ollama"] = {"enabled": False}
    sample["spec"]["ingress"] = {"enabled": True, "host": "tasks.example.com"}
    sample["spec"]["bot"] = {"enabled": True, "mode": "webhook", "tokenSecretRef": {"name": "telegram"}}
    await cluster.create(sample)
    await _ready(cluster, "StatefulSet", f"{NAME}-postgres")
    await _ready(cluster, "StatefulSet", f"{NAME}-nats")
    await _finish(cluster, migrate_job_name(NAME, "0.1.0"))

    async def webhook_job() -> dict[str, Any] | None:
        jobs = [job for job in await cluster.list("Job") if "-set-webhook-" in job["metadata"]["name"]]
        return jobs[0] if jobs else None

    job = await cluster.wait_for("the set-webhook Job", webhook_job)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["bot", "set-webhook"]
    assert await cluster.get("Deployment", f"{NAME}-bot") is None  # webhook mode: the API receives updates
    ingress = await _exists(cluster, "Ingress", NAME)
    assert ingress["spec"]["rules"][0]["host"] == "tasks.example.com"
    await cluster.finish_job(
        job["metadata"]["name"], succeeded=False, reason="BackoffLimitExceeded", message="Unauthorized"
    )
    degraded = await _condition_is(cluster, "Degraded", "True", "WebhookRegistrationFailed")
    assert "Unauthorized" in degraded["message"]


async def test_the_admin_password_is_generated_once_and_kept(
    cluster: Cluster, minimal_sample: dict[str, Any]
) -> None:
    await _bring_up(cluster, minimal_sample)
    secret = await _exists(cluster, "Secret", f"{NAME}-admin")
    tracker = await cluster.get("TaskTracker", NAME)
    assert tracker is not None and _owner_uid(secret) == tracker["metadata"]["uid"]
    password = (secret.get("stringData") or {}).get("password") or secret["data"]["password"]
    assert len(password) >= 12
    api = await _exists(cluster, "Deployment", f"{NAME}-api")
    volumes = {v["name"]: v for v in api["spec"]["template"]["spec"]["volumes"]}
    assert volumes["admin-secret"]["secret"]["secretName"] == f"{NAME}-admin"
    # A later reconcile (a spec change) never replaces it: the admin made with it keeps working.
    await cluster.change_spec(NAME, {"api": {"replicas": 3}})
    await cluster.wait_for("the API scaled to 3", lambda: _api_replicas_are(cluster, 3))
    again = await cluster.get("Secret", f"{NAME}-admin")
    assert again is not None
    assert ((again.get("stringData") or {}).get("password") or again["data"]["password"]) == password


async def _api_replicas_are(cluster: Cluster, replicas: int) -> bool:
    api = await cluster.get("Deployment", f"{NAME}-api")
    return api is not None and api["spec"]["replicas"] == replicas


async def test_a_missing_admin_secret_is_invalid(cluster: Cluster, minimal_sample: dict[str, Any]) -> None:
    sample = copy.deepcopy(minimal_sample)
    sample["spec"]["auth"] = {"admin": {"passwordSecretRef": {"name": "first-admin"}}}
    await cluster.create(sample)
    ready = await _condition_is(cluster, "Ready", "False", "InvalidSpec")
    assert "auth.admin.passwordSecretRef: Secret 'first-admin' does not exist" in ready["message"]
    assert await cluster.get("Secret", f"{NAME}-admin") is None
