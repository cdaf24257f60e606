"""The TaskTracker CustomResourceDefinition: the one source of the resource's schema.

`manifests/crds/` and `charts/tasktracker-crds/` are rendered from `build_crd()`
(`tasktracker-operator-manifests`); the operator applies the same defaults and checks at run time
(`spec.py`), so a spec that reached it without the API server's defaulting behaves the same.
"""

from __future__ import annotations

from typing import Any

GROUP = "tasktracker.io"
VERSION = "v1alpha1"
KIND = "TaskTracker"
PLURAL = "tasktrackers"
SINGULAR = "tasktracker"
SHORT_NAMES = ["tt"]
API_VERSION = f"{GROUP}/{VERSION}"

# Children are named "<name>-<suffix>" (the longest: "<name>-dashboard", "<name>-pull-<model>" is
# shortened); 40 characters keep every child name a valid DNS label with room for pod suffixes.
MAX_NAME_LENGTH = 40

QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"
# An Ollama model reference: name[:tag], optionally namespaced (library/qwen2.5:3b).
MODEL_PATTERN = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*(:[A-Za-z0-9._-]+)?$"
NATS_URL_PATTERN = r"^(nats|tls)://[^\s]+$"
HOST_PORT_PATTERN = r"^[A-Za-z0-9.-]+:[0-9]{1,5}$"
# A Task Tracker user name (the app's USERNAME_PATTERN), or empty for none.
USERNAME_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._@-]{0,63})?$"


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _int(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, **extra}


def _bool(description: str, default: bool) -> dict[str, Any]:
    return {"type": "boolean", "description": description, "default": default}


def _obj(description: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties, **extra}


def _secret_ref(description: str, default_key: str) -> dict[str, Any]:
    return _obj(
        description,
        {
            "name": _str("Name of the Secret (same namespace).", pattern=DNS_SUBDOMAIN_PATTERN),
            "key": _str("Key in the Secret.", default=default_key, minLength=1),
        },
        required=["name"],
    )


def _quantity(description: str, default: str | None = None) -> dict[str, Any]:
    schema = _str(description, pattern=QUANTITY_PATTERN)
    if default is not None:
        schema["default"] = default
    return schema


def _resources(description: str) -> dict[str, Any]:
    quantities = {
        "type": "object",
        "additionalProperties": {"type": "string", "pattern": QUANTITY_PATTERN},
    }
    return _obj(
        description + " Kubernetes resource requests and limits (cpu, memory, nvidia.com/gpu, ...).",
        {"requests": quantities, "limits": quantities},
    )


def _storage(description: str, default_size: str) -> dict[str, Any]:
    return _obj(
        description,
        {
            "size": _quantity("Size of the PersistentVolumeClaim.", default_size),
            "storageClassName": _str("StorageClass of the claim; empty: the cluster's default."),
        },
        default={},
    )


_TOLERATION = _obj(
    "A Kubernetes toleration.",
    {
        "key": _str("Taint key."),
        "operator": _str("Taint operator.", enum=["Exists", "Equal"]),
        "value": _str("Taint value."),
        "effect": _str("Taint effect.", enum=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        "tolerationSeconds": _int("How long a NoExecute taint is tolerated."),
    },
)


def spec_schema() -> dict[str, Any]:
    """The openAPIV3Schema of `spec`: types, defaults, enums, patterns and cross-field CEL rules."""
    return _obj(
        "Desired state of one Task Tracker installation.",
        {
            "version": _str(
                "Task Tracker version: the tag of the tasktracker and tasktracker-dashboard images.",
                pattern=IMAGE_TAG_PATTERN,
            ),
            "imageRegistry": _str(
                "Registry (and path) the images are pulled from.",
                default="ghcr.io/tasktracker",
                pattern=r"^[^\s/][^\s]*[^\s/]$",
            ),
            "imagePullPolicy": _str(
                "Pull policy of every container.",
                default="IfNotPresent",
                enum=["Always", "IfNotPresent", "Never"],
            ),
            "imagePullSecrets": {
                "type": "array",
                "description": "Secrets for pulling the images.",
                "items": _obj(
                    "A docker-registry Secret.",
                    {"name": _str("Secret name.", pattern=DNS_SUBDOMAIN_PATTERN)},
                    required=["name"],
                ),
            },
            "postgres": _obj(
                "The database: a PostgreSQL the operator runs (managed) or an external one.",
                {
                    "managed": _bool(
                        "Run PostgreSQL as a StatefulSet with a generated password Secret.", True
                    ),
                    "image": _str("PostgreSQL image (managed).", default="docker.io/postgres:16.4-alpine"),
                    "external": _obj(
                        "An external database (when managed is false).",
                        {
                            "secretRef": _secret_ref(
                                "Secret holding the database URL (postgresql://user:password@host/db).",
                                "url",
                            )
                        },
                        required=["secretRef"],
                    ),
                    "storage": _storage("Storage of the managed database.", "8Gi"),
                    "deleteDataOnRemove": _bool(
                        "Delete the managed database's PersistentVolumeClaim when the TaskTracker is deleted.",
                        False,
                    ),
                    "resources": _resources("Resources of the PostgreSQL container."),
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "self.managed ? !has(self.external) : has(self.external)",
                            "message": "postgres.external.secretRef is required when postgres.managed is false, "
                            "and not allowed when it is true",
                        }
                    ]
                },
            ),
            "nats": _obj(
                "The job queue: a NATS JetStream server the operator runs (managed) or an external one.",
                {
                    "managed": _bool("Run NATS with JetStream as a StatefulSet.", True),
                    "image": _str("NATS image (managed).", default="docker.io/nats:2.10.22-alpine"),
                    "url": _str(
                        "URL of an external NATS server (when managed is false; it goes into a ConfigMap).",
                        pattern=NATS_URL_PATTERN,
                    ),
                    "urlSecretRef": _secret_ref(
                        "Secret holding the URL of an external NATS server, for a URL with credentials.",
                        "url",
                    ),
                    "monitoringEndpoint": _str(
                        "host:port of the external server's monitoring port (8222): KEDA reads the consumer lag there.",
                        pattern=HOST_PORT_PATTERN,
                    ),
                    "account": _str("NATS account of the stream, for KEDA.", default="$G", minLength=1),
                    "stream": _str(
                        "JetStream stream of the jobs.",
                        default="tasktracker_jobs",
                        pattern=r"^[A-Za-z0-9_-]+$",
                    ),
                    "consumer": _str(
                        "Durable consumer the workers pull from (KEDA measures its lag).",
                        default="tasktracker_workers",
                        pattern=r"^[A-Za-z0-9_-]+$",
                    ),
                    "storage": _storage("JetStream file storage (managed).", "2Gi"),
                    "maxMemory": _quantity("JetStream's memory store limit (managed).", "256Mi"),
                    "maxFile": _quantity("JetStream's file store limit (managed).", "1Gi"),
                    "resources": _resources("Resources of the NATS container."),
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "self.managed ? !has(self.url) && !has(self.urlSecretRef) : "
                            "((has(self.url) != has(self.urlSecretRef)) && has(self.monitoringEndpoint))",
                            "message": "nats.managed false needs nats.monitoringEndpoint and one of nats.url or "
                            "nats.urlSecretRef; nats.managed true allows neither",
                        }
                    ]
                },
            ),
            "ollama": _obj(
                "Ollama, the local LLM server the workers classify with.",
                {
                    "enabled": _bool(
                        "Run Ollama; false: the workers use the built-in classifier only.", True
                    ),
                    "image": _str("Ollama image.", default="docker.io/ollama/ollama:0.5.7"),
                    "models": {
                        "type": "array",
                        "description": "Models to pull; the first one classifies (TASKTRACKER_OLLAMA_MODEL).",
                        "items": {"type": "string", "pattern": MODEL_PATTERN, "maxLength": 200},
                        "default": ["qwen2.5:3b-instruct"],
                        "maxItems": 10,
                        "x-kubernetes-list-type": "set",
                    },
                    "storage": _storage("Storage of the pulled models.", "20Gi"),
                    "resources": _resources("Resources of the Ollama container (add nvidia.com/gpu here)."),
                    "nodeSelector": {
                        "type": "object",
                        "description": "Node labels the Ollama pod must run on (e.g. GPU nodes).",
                        "additionalProperties": {"type": "string"},
                    },
                    "tolerations": {
                        "type": "array",
                        "description": "Tolerations of the Ollama pod (e.g. for tainted GPU nodes).",
                        "items": _TOLERATION,
                    },
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "!self.enabled || size(self.models) > 0",
                            "message": "ollama.models needs at least one model when ollama.enabled is true",
                        }
                    ]
                },
            ),
            "api": _obj(
                "The HTTP API.",
                {
                    "replicas": _int("API replicas.", default=2, minimum=1, maximum=50),
                    "resources": _resources("Resources of the API container."),
                },
                default={},
            ),
            "dashboard": _obj(
                "The web dashboard (Nginx, proxying /api, /ws and /webhook to the API).",
                {
                    "replicas": _int("Dashboard replicas.", default=1, minimum=1, maximum=20),
                    "resources": _resources("Resources of the dashboard container."),
                },
                default={},
            ),
            "bot": _obj(
                "The Telegram bot.",
                {
                    "enabled": _bool("Connect to Telegram.", False),
                    "mode": _str(
                        "webhook: the API receives Telegram's updates (needs an ingress host); "
                        "polling: one bot pod long-polls Telegram.",
                        default="polling",
                        enum=["webhook", "polling"],
                    ),
                    "replicas": _int(
                        "Bot pods in polling mode: 1, or 0 to pause (two pollers conflict).",
                        default=1,
                        minimum=0,
                        maximum=1,
                    ),
                    "tokenSecretRef": _secret_ref("Secret holding the bot token from @BotFather.", "token"),
                    "chats": _str(
                        "Allow-list of Telegram chat ids, comma-separated (TASKTRACKER_TELEGRAM_CHATS); "
                        "empty: every chat.",
                        default="",
                        pattern=r"^[-0-9, ;]*$",
                    ),
                    "resources": _resources("Resources of the bot container."),
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "!self.enabled || has(self.tokenSecretRef)",
                            "message": "bot.tokenSecretRef is required when bot.enabled is true",
                        }
                    ]
                },
            ),
            "workers": _obj(
                "The classification workers, scaled by KEDA on the JetStream consumer's lag.",
                {
                    "minReplicas": _int("Fewest workers.", default=1, minimum=0, maximum=100),
                    "maxReplicas": _int("Most workers.", default=5, minimum=1, maximum=100),
                    "lagThreshold": _int(
                        "Pending jobs per worker KEDA aims for.", default=10, minimum=1, maximum=100000
                    ),
                    "pollingInterval": _int(
                        "Seconds between KEDA's lag checks.", default=15, minimum=1, maximum=3600
                    ),
                    "cooldownPeriod": _int(
                        "Seconds without lag before KEDA scales to minReplicas.",
                        default=300,
                        minimum=0,
                        maximum=86400,
                    ),
                    "concurrency": _int(
                        "Jobs one worker runs at once (TASKTRACKER_WORKER_CONCURRENCY).",
                        default=64,
                        minimum=1,
                        maximum=1000,
                    ),
                    "resources": _resources("Resources of the worker container."),
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "self.minReplicas <= self.maxReplicas",
                            "message": "workers.minReplicas must not be greater than workers.maxReplicas",
                        }
                    ]
                },
            ),
            "secretKeyRotation": _bool(
                "A rotation of the app's secret key is under way: the Secret <name>-app holds the earlier "
                "key(s) under previous-secret-keys, and every app process reads them "
                "(TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE) until `tasktracker secrets rotate` has re-encrypted "
                "what they sealed. See docs/operations.md.",
                False,
            ),
            "auth": _obj(
                "Accounts (docs/security.md): every endpoint but health and the signed webhooks needs a "
                "user or an API token. Always on in a cluster: the app refuses TASKTRACKER_AUTH=off "
                "anywhere but on a loopback address.",
                {
                    "apiDocs": _str(
                        "Who may read /docs and /openapi.json (TASKTRACKER_API_DOCS): open, viewer (any "
                        "signed-in user) or off; unset: viewer.",
                        enum=["open", "viewer", "off"],
                    ),
                    "admin": _obj(
                        "The first admin: the API creates it at start when no user of that name exists, "
                        "and never changes an existing user.",
                        {
                            "username": _str(
                                "User name of the admin; empty: none is made (use `tasktracker user "
                                "create` in an API pod).",
                                default="admin",
                                pattern=USERNAME_PATTERN,
                            ),
                            "email": _str("Email of the admin.", maxLength=254),
                            "passwordSecretRef": _secret_ref(
                                "Secret holding the admin's password (12 characters or more); unset: "
                                "the operator generates one once into the Secret <name>-admin.",
                                "password",
                            ),
                        },
                        default={},
                    ),
                },
                default={},
            ),
            "ingress": _obj(
                "An Ingress for the dashboard (which proxies the API).",
                {
                    "enabled": _bool("Create the Ingress.", False),
                    "host": _str("Public host name.", pattern=DNS_SUBDOMAIN_PATTERN),
                    "className": _str("IngressClass; empty: the cluster's default."),
                    "tlsSecretName": _str(
                        "TLS Secret for the host; empty: plain HTTP.", pattern=DNS_SUBDOMAIN_PATTERN
                    ),
                },
                default={},
                **{
                    "x-kubernetes-validations": [
                        {
                            "rule": "!self.enabled || has(self.host)",
                            "message": "ingress.host is required when ingress.enabled is true",
                        }
                    ]
                },
            ),
        },
        required=["version"],
        **{
            "x-kubernetes-validations": [
                {
                    "rule": "!(self.bot.enabled && self.bot.mode == 'webhook') || "
                    "(self.ingress.enabled && has(self.ingress.host))",
                    "message": "bot.mode webhook needs ingress.enabled and ingress.host: Telegram must reach the API",
                }
            ]
        },
    )


def _condition_schema() -> dict[str, Any]:
    return _obj(
        "A standard condition.",
        {
            "type": _str("Ready, DatabaseReady, BrokerReady, ModelsReady, WorkersScaling or Degraded."),
            "status": _str("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": _str("CamelCase reason."),
            "message": _str("Human-readable explanation."),
            "lastTransitionTime": _str("When the status last changed.", format="date-time"),
            "observedGeneration": _int("Generation of the spec the condition was computed from."),
        },
        required=["type", "status"],
    )


def status_schema() -> dict[str, Any]:
    schema = _obj(
        "Observed state, written by the operator.",
        {
            "observedGeneration": _int("The spec generation last reconciled."),
            "phase": _str(
                "Summary: Pending, Provisioning, Migrating, Ready, Degraded or Invalid.",
                enum=["Pending", "Provisioning", "Migrating", "Ready", "Degraded", "Invalid"],
            ),
            "version": _str(
                "The version the API and workers run (it changes after its migration succeeded)."
            ),
            "dashboardUrl": _str("Where the dashboard answers."),
            "workerReplicas": _int("Worker pods the worker Deployment has now."),
            "modelsReady": _str("Pulled models out of configured ones, e.g. 1/2."),
            "scaler": _str("What scales the workers: KEDA or HPA.", enum=["KEDA", "HPA"]),
            "conditions": {
                "type": "array",
                "description": "Standard conditions.",
                "items": _condition_schema(),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
            "models": {
                "type": "array",
                "description": "Pull state per model.",
                "items": _obj(
                    "One model's pull.",
                    {
                        "name": _str("Model reference."),
                        "state": _str("Pull state.", enum=["Waiting", "Pulling", "Ready", "Failed"]),
                        "message": _str("Why it is in this state."),
                        "attempts": _int("Failed pulls so far."),
                        "retryAt": _str("When a failed pull is retried.", format="date-time"),
                    },
                    required=["name", "state"],
                ),
            },
        },
    )
    # kopf may keep its own bookkeeping under status when annotations are unavailable.
    schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


PRINTER_COLUMNS = [
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Version", "type": "string", "jsonPath": ".status.version"},
    {"name": "Workers", "type": "integer", "jsonPath": ".status.workerReplicas"},
    {"name": "Models", "type": "string", "jsonPath": ".status.modelsReady"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def build_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "tasktracker", "app.kubernetes.io/part-of": "tasktracker"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": SHORT_NAMES,
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "One Task Tracker installation: API, dashboard, workers, bot and "
                            "their database, queue and LLM server.",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema(),
                                "status": status_schema(),
                            },
                            "required": ["spec"],
                            "x-kubernetes-validations": [
                                {
                                    "rule": f"size(self.metadata.name) <= {MAX_NAME_LENGTH}",
                                    "message": f"the TaskTracker name must be at most {MAX_NAME_LENGTH} characters "
                                    "(children are named after it)",
                                }
                            ],
                        }
                    },
                }
            ],
        },
    }
