"""Pure builders: `build_*(spec, name, namespace) -> dict`, one per child object, no cluster access.

`spec` is the defaulted spec (`spec.with_defaults`). Keyword-only arguments carry what the spec alone
does not say: generated secret values, a model to pull, whether the workers are held at zero.
"""

from tasktracker_operator.builders.app import (
    build_api_deployment,
    build_api_service,
    build_app_configmap,
    build_bot_deployment,
    build_dashboard_deployment,
    build_dashboard_service,
    build_ingress,
    build_migrate_job,
    build_set_webhook_job,
    build_worker_deployment,
)
from tasktracker_operator.builders.backing import (
    build_admin_secret,
    build_app_secret,
    build_model_pull_job,
    build_nats_configmap,
    build_nats_pvc,
    build_nats_service,
    build_nats_statefulset,
    build_ollama_deployment,
    build_ollama_pvc,
    build_ollama_service,
    build_postgres_pvc,
    build_postgres_secret,
    build_postgres_service,
    build_postgres_statefulset,
)
from tasktracker_operator.builders.scaling import build_worker_hpa, build_worker_scaledobject

__all__ = [
    "build_admin_secret",
    "build_api_deployment",
    "build_api_service",
    "build_app_configmap",
    "build_app_secret",
    "build_bot_deployment",
    "build_dashboard_deployment",
    "build_dashboard_service",
    "build_ingress",
    "build_migrate_job",
    "build_model_pull_job",
    "build_nats_configmap",
    "build_nats_pvc",
    "build_nats_service",
    "build_nats_statefulset",
    "build_ollama_deployment",
    "build_ollama_pvc",
    "build_ollama_service",
    "build_postgres_pvc",
    "build_postgres_secret",
    "build_postgres_service",
    "build_postgres_statefulset",
    "build_set_webhook_job",
    "build_worker_deployment",
    "build_worker_hpa",
    "build_worker_scaledobject",
]
