"""Level-based reconciliation of one TaskTracker: called on create, update, resume and by the timer.

Order: check the spec (nothing is applied when it is invalid) -> generated Secrets -> PostgreSQL,
NATS, Ollama -> model pulls -> the migration Job of spec.version -> api, workers, dashboard, bot at
the migrated version -> the workers' scaler -> status. Every child comes from a pure builder.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from tasktracker_operator import builders
from tasktracker_operator import spec as spec_module
from tasktracker_operator.builders.app import dashboard_url
from tasktracker_operator.builders.common import (
    PAUSED_REPLICAS_ANNOTATION,
    child_name,
    migrate_job_name,
    pull_job_name,
    selector_labels,
)
from tasktracker_operator.config import OperatorConfig
from tasktracker_operator.handlers.apply import apply
from tasktracker_operator.kube import Kube, Obj
from tasktracker_operator.spec import Spec
from tasktracker_operator.status import Condition, Observation, merge_conditions


@dataclass
class Outcome:
    """The status fields to write, and when to come back sooner than the timer (a pull retry)."""

    status: dict[str, Any]
    retry_in: float | None = None


def _ready_replicas(obj: Obj | None) -> int:
    return int(((obj or {}).get("status") or {}).get("readyReplicas") or 0)


def _job_state(job: Obj | None) -> tuple[str, str]:
    """("Missing" | "Running" | "Succeeded" | "Failed", why)."""
    if job is None:
        return "Missing", ""
    status = job.get("status") or {}
    for condition in status.get("conditions") or ():
        if condition.get("status") != "True":
            continue
        if condition.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "Succeeded", ""
        if condition.get("type") == "Failed":
            reason = condition.get("reason") or "Failed"
            return "Failed", f"{reason}: {condition.get('message') or 'the Job failed'}"
    if int(status.get("succeeded") or 0) > 0:
        return "Succeeded", ""
    return "Running", ""


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def _missing_references(kube: Kube, spec: Spec, namespace: str) -> list[str]:
    """Secrets the spec names that do not exist: refused before anything is applied."""
    refs: list[tuple[str, str, str]] = []
    if not spec["postgres"]["managed"]:
        ref = spec["postgres"]["external"]["secretRef"]
        refs.append(("postgres.external.secretRef", ref["name"], ref["key"]))
    if "urlSecretRef" in spec["nats"]:
        ref = spec["nats"]["urlSecretRef"]
        refs.append(("nats.urlSecretRef", ref["name"], ref["key"]))
    if spec["bot"]["enabled"]:
        ref = spec["bot"]["tokenSecretRef"]
        refs.append(("bot.tokenSecretRef", ref["name"], ref["key"]))
    if spec["auth"]["admin"]["username"] and "passwordSecretRef" in spec["auth"]["admin"]:
        ref = spec["auth"]["admin"]["passwordSecretRef"]
        refs.append(("auth.admin.passwordSecretRef", ref["name"], ref["key"]))
    errors = []
    for field_name, secret_name, key in refs:
        secret = await kube.get("v1", "Secret", namespace, secret_name)
        if secret is None:
            errors.append(f"{field_name}: Secret {secret_name!r} does not exist in namespace {namespace!r}")
        elif key not in (secret.get("data") or {}) and key not in (secret.get("stringData") or {}):
            errors.append(f"{field_name}: Secret {secret_name!r} has no key {key!r}")
    return errors


class Reconciler:
    def __init__(
        self, kube: Kube, body: kopf.Body, config: OperatorConfig, logger: Any, memory: dict[str, Any]
    ) -> None:
        self.kube = kube
        self.body = body
        self.config = config
        self.logger = logger
        self.name: str = body.metadata.name or ""
        self.namespace: str = body.metadata.namespace or "default"
        # What the last pass wrote: kept in memory too, because the body's status may lag behind
        # (kopf applies the status patch after the handler returns; the timer may already run again).
        self.memory = memory
        self.previous: dict[str, Any] = {**dict(body.status), **memory}
        self.retry_in: float | None = None
        self.webhook_failure = ""

    async def _apply(self, obj: Obj, **kwargs: Any) -> Obj:
        return await apply(self.kube, obj, owner=self.body, **kwargs)

    async def _get(self, api_version: str, kind: str, name: str) -> Obj | None:
        return await self.kube.get(api_version, kind, self.namespace, name)

    async def _delete(self, api_version: str, kind: str, name: str) -> None:
        if await self.kube.delete(api_version, kind, self.namespace, name):
            self.logger.info(f"Deleted {kind} {name}.")

    def _retry(self, delay: float) -> None:
        self.retry_in = delay if self.retry_in is None else min(self.retry_in, delay)

    # -- the steps ---------------------------------------------------------------------------------

    async def secrets(self, spec: Spec) -> None:
        name, ns = self.name, self.namespace
        app_secret = builders.build_app_secret(
            spec, name, ns, secret_key=secrets.token_urlsafe(48), webhook_secret=secrets.token_hex(32)
        )
        await self._apply(app_secret, create_only=True)
        admin = spec["auth"]["admin"]
        if admin["username"] and "passwordSecretRef" not in admin:
            # Generated once; the admin reads it with `kubectl get secret <name>-admin`.
            admin_secret = builders.build_admin_secret(spec, name, ns, password=secrets.token_urlsafe(24))
            await self._apply(admin_secret, create_only=True)
        if spec["postgres"]["managed"]:
            pg_secret = builders.build_postgres_secret(spec, name, ns, password=secrets.token_hex(24))
            await self._apply(pg_secret, create_only=True)
        # The app's settings: the migration Job and every app pod read them (envFrom).
        await self._apply(builders.build_app_configmap(spec, name, ns))

    async def database(self, spec: Spec) -> Condition:
        if not spec["postgres"]["managed"]:
            ref = spec["postgres"]["external"]["secretRef"]
            return Condition(
                "DatabaseReady",
                True,
                "External",
                f"external database from Secret {ref['name']!r} (not probed)",
            )
        name, ns = self.name, self.namespace
        # The claim has no owner: deleting the TaskTracker keeps the data unless deleteDataOnRemove.
        await apply(self.kube, builders.build_postgres_pvc(spec, name, ns), owner=None, create_only=True)
        await self._apply(builders.build_postgres_service(spec, name, ns))
        sts = await self._apply(builders.build_postgres_statefulset(spec, name, ns))
        if _ready_replicas(sts) >= 1:
            return Condition(
                "DatabaseReady", True, "Ready", f"PostgreSQL {child_name(name, 'postgres')} is ready"
            )
        return Condition(
            "DatabaseReady", False, "Starting", f"waiting for PostgreSQL {child_name(name, 'postgres')}"
        )

    async def broker(self, spec: Spec) -> Condition:
        if not spec["nats"]["managed"]:
            nats = spec["nats"]
            where = nats.get("url") or f"the URL in Secret {nats['urlSecretRef']['name']!r}"
            return Condition("BrokerReady", True, "External", f"external NATS at {where} (not probed)")
        name, ns = self.name, self.namespace
        await self._apply(builders.build_nats_pvc(spec, name, ns), create_only=True)
        await self._apply(builders.build_nats_configmap(spec, name, ns))
        await self._apply(builders.build_nats_service(spec, name, ns))
        sts = await self._apply(builders.build_nats_statefulset(spec, name, ns))
        if _ready_replicas(sts) >= 1:
            return Condition(
                "BrokerReady", True, "Ready", f"NATS JetStream {child_name(name, 'nats')} is ready"
            )
        return Condition("BrokerReady", False, "Starting", f"waiting for NATS {child_name(name, 'nats')}")

    async def models(self, spec: Spec) -> tuple[Condition, list[dict[str, Any]], list[str]]:
        """Ollama and one pull Job per model; failed pulls are retried with backoff."""
        name, ns = self.name, self.namespace
        if not spec["ollama"]["enabled"]:
            # Turned off: no server left running (its models volume stays until the TaskTracker goes).
            await self._delete("apps/v1", "Deployment", child_name(name, "ollama"))
            await self._delete("v1", "Service", child_name(name, "ollama"))
            condition = Condition(
                "ModelsReady", True, "OllamaDisabled", "the workers classify with the built-in model"
            )
            return condition, [], []
        await self._apply(builders.build_ollama_pvc(spec, name, ns), create_only=True)
        await self._apply(builders.build_ollama_service(spec, name, ns))
        ollama = await self._apply(builders.build_ollama_deployment(spec, name, ns))
        ollama_ready = _ready_replicas(ollama) >= 1
        previous = {m.get("name"): m for m in self.previous.get("models") or ()}
        states: list[dict[str, Any]] = []
        failures: list[str] = []
        for model in spec["ollama"]["models"]:
            state = await self._model(spec, model, previous.get(model) or {}, ollama_ready)
            states.append(state)
            if state["state"] == "Failed":
                failures.append(f"model {model}: {state['message']}")
        ready = sum(1 for s in states if s["state"] == "Ready")
        total = len(states)
        if ready == total:
            condition = Condition("ModelsReady", True, "Pulled", f"{ready}/{total} models pulled")
        elif failures:
            condition = Condition("ModelsReady", False, "PullFailed", "; ".join(failures))
        elif not ollama_ready:
            condition = Condition(
                "ModelsReady", False, "WaitingForOllama", f"waiting for {child_name(name, 'ollama')}"
            )
        else:
            pulling = ", ".join(s["name"] for s in states if s["state"] != "Ready")
            condition = Condition(
                "ModelsReady", False, "Pulling", f"{ready}/{total} models pulled; pulling {pulling}"
            )
        return condition, states, failures

    async def _model(
        self, spec: Spec, model: str, previous: Mapping[str, Any], ollama_ready: bool
    ) -> dict[str, Any]:
        attempts = int(previous.get("attempts") or 0)
        state: dict[str, Any] = {"name": model, "attempts": attempts}
        job_name = pull_job_name(self.name, model)
        job = await self._get("batch/v1", "Job", job_name)
        outcome, why = _job_state(job)
        if outcome == "Succeeded":
            return {**state, "state": "Ready", "message": "pulled"}
        if outcome == "Failed":
            attempts += 1
            delay = self.config.pull_backoff(attempts)
            retry_at = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=delay)
            self.logger.warning(f"Pull of {model} failed ({why}); retrying in {delay:.0f}s.")
            await self._delete("batch/v1", "Job", job_name)
            self._retry(delay)
            retry_text = retry_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
            return {
                "name": model,
                "state": "Failed",
                "attempts": attempts,
                "message": f"pull failed: {why} (attempt {attempts}, retrying at {retry_text})",
                "retryAt": retry_text,
            }
        if outcome == "Running":
            return {**state, "state": "Pulling", "message": f"Job {job_name} is pulling"}
        # No Job: a first pull, or a failed one whose backoff may not be over yet.
        retry_at_time = _parse_time(previous.get("retryAt"))
        if previous.get("state") == "Failed" and retry_at_time is not None:
            remaining = (retry_at_time - datetime.datetime.now(tz=datetime.UTC)).total_seconds()
            if remaining > 0:
                self._retry(remaining)
                return {
                    k: v
                    for k, v in previous.items()
                    if k in ("name", "state", "attempts", "message", "retryAt")
                }
        if not ollama_ready:
            return {**state, "state": "Waiting", "message": "waiting for Ollama to be ready"}
        await self._apply(
            builders.build_model_pull_job(spec, self.name, self.namespace, model=model), create_only=True
        )
        return {**state, "state": "Pulling", "message": f"Job {job_name} is pulling"}

    async def migrate(self, spec: Spec, database_ready: bool, observation: Observation) -> str | None:
        """The version the app may run: spec.version once its migration Job succeeded, else the old one."""
        target = spec["version"]
        deployed: str | None = self.previous.get("version")
        if deployed == target:
            return deployed
        job_name = migrate_job_name(self.name, target)
        if not database_ready:
            observation.app_message = f"waiting for the database before migrating to {target}"
            return deployed
        job = await self._apply(builders.build_migrate_job(spec, self.name, self.namespace), create_only=True)
        outcome, why = _job_state(job)
        if outcome == "Succeeded":
            self.logger.info(f"Migrated the database to {target}.")
            await self._delete_old_migrations(job_name)
            return str(target)
        if outcome == "Failed":
            keeps = f"still running {deployed}" if deployed else "the app is not started"
            observation.migration_failed = (
                f"migration Job {job_name} to version {target} failed: {why}; {keeps} "
                f"(delete the Job to retry, or set another version)"
            )
        else:
            observation.migrating = True
            observation.app_message = f"migrating the database to {target} (Job {job_name})"
        return deployed

    async def _delete_old_migrations(self, keep: str) -> None:
        jobs = await self.kube.list("batch/v1", "Job", self.namespace, selector_labels(self.name, "migrate"))
        for job in jobs:
            if job["metadata"]["name"] != keep:
                await self._delete("batch/v1", "Job", job["metadata"]["name"])

    async def app(
        self, spec: Spec, version: str, models_ready: bool
    ) -> tuple[Condition, dict[str, Any], bool, str]:
        """api, workers, dashboard, bot, ingress at `version`; the workers' scaler."""
        name, ns = self.name, self.namespace
        app_spec = dict(spec, version=version)
        await self._apply(builders.build_api_service(app_spec, name, ns))
        api = await self._apply(builders.build_api_deployment(app_spec, name, ns))
        await self._apply(builders.build_dashboard_service(app_spec, name, ns))
        dashboard = await self._apply(builders.build_dashboard_deployment(app_spec, name, ns))
        waiting = []
        if _ready_replicas(api) < 1:
            waiting.append(child_name(name, "api"))
        if _ready_replicas(dashboard) < 1:
            waiting.append(child_name(name, "dashboard"))

        bot = spec["bot"]
        if bot["enabled"] and bot["mode"] == "polling":
            bot_deployment = await self._apply(builders.build_bot_deployment(app_spec, name, ns))
            if bot["replicas"] and _ready_replicas(bot_deployment) < 1:
                waiting.append(child_name(name, "bot"))
        else:
            await self._delete("apps/v1", "Deployment", child_name(name, "bot"))
        if bot["enabled"] and bot["mode"] == "webhook":
            job = await self._apply(builders.build_set_webhook_job(app_spec, name, ns), create_only=True)
            outcome, why = _job_state(job)
            if outcome == "Failed":
                self.webhook_failure = f"Job {job['metadata']['name']} could not register the webhook: {why}"
        if spec["ingress"]["enabled"]:
            await self._apply(builders.build_ingress(app_spec, name, ns))
        else:
            await self._delete("networking.k8s.io/v1", "Ingress", name)

        scaling, scaler, worker = await self.workers(app_spec, models_ready)
        status = {
            "scaler": scaler,
            "workerReplicas": int(((worker.get("status") or {}).get("replicas")) or 0),
        }
        message = f"waiting for {', '.join(waiting)}" if waiting else f"Task Tracker {version} is serving"
        return scaling, status, not waiting, message

    async def workers(self, spec: Spec, models_ready: bool) -> tuple[Condition, str, Obj]:
        name, ns, workers = self.name, self.namespace, spec["workers"]
        worker_name = child_name(name, "worker")
        paused = not models_ready
        if await self.kube.serves("keda.sh/v1alpha1", "scaledobjects"):
            # KEDA owns the replicas: the Deployment is created at zero and its replicas never patched.
            worker = await self._apply(
                builders.build_worker_deployment(spec, name, ns), on_create={"spec": {"replicas": 0}}
            )
            await self._apply(
                builders.build_worker_scaledobject(spec, name, ns, paused=paused),
                drop_annotations=[PAUSED_REPLICAS_ANNOTATION],
            )
            await self._delete("autoscaling/v2", "HorizontalPodAutoscaler", worker_name)
            if paused:
                return (
                    Condition(
                        "WorkersScaling",
                        False,
                        "WaitingForModels",
                        "workers are held at zero until the model is pulled",
                    ),
                    "KEDA",
                    worker,
                )
            nats = spec["nats"]
            message = (
                f"KEDA scales {worker_name} between {workers['minReplicas']} and {workers['maxReplicas']} on the lag "
                f"of consumer {nats['consumer']} of stream {nats['stream']} (threshold {workers['lagThreshold']})"
            )
            return Condition("WorkersScaling", True, "KEDA", message), "KEDA", worker
        # No KEDA: a CPU HPA. It cannot scale from zero, so the operator holds and releases the replicas.
        fallback = "KEDA is not installed (the cluster serves no keda.sh/v1alpha1 ScaledObject)"
        await self._delete("keda.sh/v1alpha1", "ScaledObject", worker_name)
        if paused:
            worker = await self._apply(builders.build_worker_deployment(spec, name, ns, replicas=0))
            await self._delete("autoscaling/v2", "HorizontalPodAutoscaler", worker_name)
            message = f"{fallback}; workers are held at zero until the model is pulled"
            return Condition("WorkersScaling", False, "WaitingForModels", message), "HPA", worker
        start = max(1, workers["minReplicas"])
        worker = await self._apply(
            builders.build_worker_deployment(spec, name, ns), on_create={"spec": {"replicas": start}}
        )
        if int((worker.get("spec") or {}).get("replicas") or 0) == 0:
            worker = await self.kube.merge_patch(
                "apps/v1", "Deployment", ns, worker_name, {"spec": {"replicas": start}}
            )
        await self._apply(builders.build_worker_hpa(spec, name, ns))
        message = (
            f"{fallback}: an HPA scales {worker_name} on CPU between {max(1, workers['minReplicas'])} "
            f"and {workers['maxReplicas']}"
        )
        return Condition("WorkersScaling", True, "HPAFallback", message), "HPA", worker

    # -- the whole pass ----------------------------------------------------------------------------

    async def run(self) -> Outcome:
        spec = spec_module.with_defaults(self.body.spec)
        observation = Observation()
        status: dict[str, Any] = {"observedGeneration": self.body.metadata.get("generation")}
        errors = spec_module.validate(spec, self.name)
        if not errors:
            errors = await _missing_references(self.kube, spec, self.namespace)
        if errors:
            observation.invalid = errors
            self.logger.error(f"Invalid TaskTracker spec, nothing applied: {'; '.join(errors)}")
            return Outcome(self._status(status, observation))

        await self.secrets(spec)
        observation.database = await self.database(spec)
        observation.broker = await self.broker(spec)
        observation.models, models, observation.model_failures = await self.models(spec)
        status["models"] = models
        status["modelsReady"] = f"{sum(1 for m in models if m['state'] == 'Ready')}/{len(models)}"
        version = await self.migrate(spec, bool(observation.database.status), observation)
        if version is not None:
            status["version"] = version
            scaling, app_status, app_ready, message = await self.app(
                spec, version, bool(observation.models.status)
            )
            observation.scaling = scaling
            status.update(app_status)
            observation.app_ready = app_ready and version == spec["version"]
            observation.webhook_failure = self.webhook_failure
            if not observation.migrating:
                observation.app_message = message
        else:
            observation.scaling = Condition(
                "WorkersScaling", False, "NotDeployed", "the app is not deployed yet"
            )
            observation.app_message = observation.app_message or "the app is not deployed yet"
        status["dashboardUrl"] = dashboard_url(spec, self.name, self.namespace)
        return Outcome(self._status(status, observation), self.retry_in)

    def _status(self, status: dict[str, Any], observation: Observation) -> dict[str, Any]:
        generation = self.body.metadata.get("generation")
        status["phase"] = observation.phase()
        status["conditions"] = merge_conditions(
            self.previous.get("conditions"), observation.conditions(), generation
        )
        return status


async def reconcile(
    kube: Kube,
    body: kopf.Body,
    patch: kopf.Patch,
    config: OperatorConfig,
    logger: Any,
    memory: dict[str, Any],
) -> None:
    """One pass; its status goes into kopf's patch. A pending pull retry comes back via TemporaryError."""
    outcome = await Reconciler(kube, body, config, logger, memory).run()
    current = dict(body.status)
    for key, value in outcome.status.items():
        if current.get(key) != value:  # a quiet pass writes nothing
            patch.status[key] = value
    for key in ("models", "version", "conditions"):
        if key in outcome.status:
            memory[key] = outcome.status[key]
    if outcome.retry_in is not None:
        raise kopf.TemporaryError("a model pull is waiting for its retry", delay=max(1.0, outcome.retry_in))


async def reconcile_one_at_a_time(memo: Any, body: kopf.Body, patch: kopf.Patch, logger: Any) -> None:
    """What kopf calls (change handlers and the timer): one pass per TaskTracker at a time.

    `memo` is kopf's per-object memo: it holds the lock and the last pass's results, next to the
    operator-wide `kube` client and `config` that the startup handler put there.
    """
    if "lock" not in memo:
        memo["lock"] = asyncio.Lock()
        memo["memory"] = {}
    async with memo["lock"]:
        await reconcile(memo["kube"], body, patch, memo["config"], logger, memo["memory"])
