"""What scales the workers: a KEDA ScaledObject on the JetStream consumer's lag, or a CPU HPA."""

from __future__ import annotations

from tasktracker_operator.builders.common import (
    NATS_MONITORING_PORT,
    PAUSED_REPLICAS_ANNOTATION,
    Obj,
    child_name,
    metadata,
    service_host,
)
from tasktracker_operator.spec import Spec


def monitoring_endpoint(spec: Spec, name: str, namespace: str) -> str:
    """host:port of the NATS monitoring server, as KEDA's nats-jetstream scaler wants it (no scheme)."""
    nats = spec["nats"]
    if not nats["managed"]:
        return str(nats["monitoringEndpoint"])
    return f"{service_host(name, namespace, 'nats')}:{NATS_MONITORING_PORT}"


def build_worker_scaledobject(spec: Spec, name: str, namespace: str, *, paused: bool = False) -> Obj:
    """KEDA scales the worker Deployment on the lag of the consumer the workers really pull from.

    `paused` holds the workers at zero (KEDA's paused-replicas annotation) until the model is pulled.
    """
    workers, nats = spec["workers"], spec["nats"]
    meta = metadata(spec, name, namespace, "worker", child_name(name, "worker"))
    if paused:
        meta["annotations"] = {PAUSED_REPLICAS_ANNOTATION: "0"}
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": child_name(name, "worker"),
            },
            "minReplicaCount": workers["minReplicas"],
            "maxReplicaCount": workers["maxReplicas"],
            "pollingInterval": workers["pollingInterval"],
            "cooldownPeriod": workers["cooldownPeriod"],
            "triggers": [
                {
                    "type": "nats-jetstream",
                    "metadata": {
                        "natsServerMonitoringEndpoint": monitoring_endpoint(spec, name, namespace),
                        "account": nats["account"],
                        "stream": nats["stream"],
                        "consumer": nats["consumer"],
                        "lagThreshold": str(workers["lagThreshold"]),
                    },
                }
            ],
        },
    }


def build_worker_hpa(spec: Spec, name: str, namespace: str) -> Obj:
    """Without KEDA: scale on CPU between minReplicas (at least 1: an HPA cannot idle at 0) and maxReplicas."""
    workers = spec["workers"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(spec, name, namespace, "worker", child_name(name, "worker")),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": child_name(name, "worker"),
            },
            "minReplicas": max(1, workers["minReplicas"]),
            "maxReplicas": workers["maxReplicas"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}},
                }
            ],
        },
    }
