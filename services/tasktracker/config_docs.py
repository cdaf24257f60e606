"""The reference of every environment variable, generated from `Settings` (`tasktracker config --docs`).

The names, defaults, types and the `_FILE` forms come from the model itself; this module adds only a
sentence per setting and the section it belongs to. docs/configuration.md is this output, and a test
keeps it, the Helm chart and the operator's builders in step with `Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from itertools import groupby
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import SecretStr

from tasktracker.config import FILE_SETTINGS, Settings, env_names

SECTIONS: dict[str, list[str]] = {
    "Process": [
        "environment",
        "host",
        "port",
        "health_port",
        "log_level",
        "log_format",
        "data_dir",
        "secret_key",
        "previous_secret_keys",
        "metrics_token",
    ],
    "Accounts and access": [
        "auth",
        "api_docs",
        "admin_username",
        "admin_password",
        "admin_email",
        "session_ttl_h",
        "login_link_ttl_s",
        "auth_cache_ttl_s",
    ],
    "Database": [
        "database_url",
        "database_password",
        "database_pool_size",
        "database_max_overflow",
        "database_connect_timeout_s",
    ],
    "Jobs (NATS JetStream)": [
        "nats_url",
        "nats_stream",
        "nats_subject",
        "nats_durable",
        "nats_events_subject",
        "job_ack_wait_s",
        "job_max_deliver",
        "job_max_age_s",
        "worker_concurrency",
        "enqueue_timeout_s",
        "shutdown_grace_s",
        "sweep_interval_s",
        "sweep_stuck_after_s",
    ],
    "Limits": ["max_message_bytes", "max_batch", "max_body_bytes"],
    "Classification": [
        "classifier",
        "ollama_base_url",
        "ollama_model",
        "ollama_pull",
        "ollama_timeout_s",
        "ollama_retries",
        "llm_concurrency",
        "llm_response_format",
        "llm_eval_examples",
        "review_threshold",
        "priority_review_threshold",
        "retrain_every",
        "builtin_model_seed_dir",
        "duplicate_window_h",
        "duplicate_threshold",
        "duplicate_llm",
        "duplicate_llm_band",
        "duplicate_llm_candidates",
        "duplicate_llm_timeout_s",
        "duplicate_llm_eval_pairs",
    ],
    "Channels": [
        "telegram_bot_token",
        "telegram_api_url",
        "telegram_webhook_secret",
        "telegram_chats",
        "telegram_mode",
        "telegram_poll_timeout_s",
        "bot_reply",
        "public_url",
        "slack_signing_secret",
        "webhook_tolerance_s",
        "receipts_keep_days",
    ],
    "Exports (GitHub, Jira, Linear, webhooks)": [
        "export_max_attempts",
        "export_backoff_s",
        "export_backoff_max_s",
        "export_poll_interval_s",
        "export_reconcile_interval_s",
        "export_reconcile_batch",
        "export_http_timeout_s",
        "export_allowed_hosts",
    ],
    "Dashboard and WebSocket": [
        "dashboard_dir",
        "cors_origins",
        "ws_queue_size",
        "ws_heartbeat_s",
        "ws_send_timeout_s",
        "ws_origins",
    ],
    "Hosts and proxies": ["trusted_hosts", "forwarded_allow_ips"],
    "Tracing": ["tracing", "otel_exporter_otlp_endpoint", "otel_exporter_otlp_traces_endpoint"],
    "Rate limits": [
        "rate_limit_ingest_per_s",
        "rate_limit_ingest_burst",
        "rate_limit_webhook_per_s",
        "rate_limit_webhook_burst",
        "rate_limit_classify_per_s",
        "rate_limit_classify_burst",
        "rate_limit_login_account_per_min",
        "rate_limit_login_account_burst",
        "rate_limit_login_ip_per_min",
        "rate_limit_login_ip_burst",
        "rate_limit_max_keys",
    ],
}

DESCRIPTIONS: dict[str, str] = {
    "environment": "`production` refuses the default secret key and a missing database URL (and the API an empty `TASKTRACKER_TRUSTED_HOSTS`)",
    "host": "address the API listens on",
    "port": "port the API listens on",
    "health_port": "worker and bot: port of `/healthz` and `/readyz` (0 turns the probe server off)",
    "log_level": "`debug`, `info`, `warning`, `error`",
    "previous_secret_keys": "comma-separated earlier secret keys, still accepted to decrypt stored secrets until `tasktracker secrets rotate`",
    "log_format": "`auto` (JSON lines with trace ids when stderr is not a terminal), `json`, `text`",
    "metrics_token": "Bearer token that may read `/metrics` (API and probe ports); on the API an admin may too",
    "auth": "`on`: users, roles, sessions and API tokens; `off`: every caller is a local admin — refused unless the API binds a loopback address",
    "api_docs": "who may read `/docs`, `/redoc`, `/openapi.json`: `open`, `viewer` (signed in) or `off`; default `open`, `viewer` in production",
    "admin_username": "an admin the API creates at start when no user of that name exists (with `TASKTRACKER_ADMIN_PASSWORD`; a password alone names `admin`)",
    "admin_password": "that admin's first password (at least 12 characters); never resets an existing user's",
    "admin_email": "that admin's email",
    "session_ttl_h": "a dashboard sign-in ends this many hours after its last use",
    "login_link_ttl_s": "one-time sign-in links (`tasktracker run`, `tasktracker user link`) work for this long",
    "auth_cache_ttl_s": "checked sessions and API tokens are believed this long without asking the database; revoking, signing out, disabling and role changes act at once",
    "data_dir": "SQLite file (embedded mode) and the cached built-in model",
    "secret_key": "signing key, and the key stored secrets are encrypted with; must be changed in production",
    "database_url": "`postgresql://…` / `postgres://…` (normalised to asyncpg) or `sqlite:///…`; empty: SQLite in the data dir",
    "database_password": "password put into the database URL, which then names only the user (as PostgreSQL Secrets hold it)",
    "database_pool_size": "connections kept per process",
    "database_max_overflow": "extra connections under load",
    "database_connect_timeout_s": "give up connecting after this long (the request answers 503)",
    "nats_url": "`nats://host:4222`; empty: in-process broker and events (required by `api` and `worker`)",
    "nats_stream": "JetStream stream of the jobs (KEDA's scaler reads the same name)",
    "nats_subject": "subject jobs are published on",
    "nats_durable": "durable pull consumer the workers share (KEDA measures its lag)",
    "nats_events_subject": "core NATS subject of the live events every API replica receives",
    "job_ack_wait_s": "a job not acknowledged within this is delivered again (above the slowest LLM call)",
    "job_max_deliver": "deliveries of a job before its message is marked failed",
    "job_max_age_s": "jobs older than this leave the stream",
    "worker_concurrency": "the most jobs one classification group holds (a worker holds three groups' worth)",
    "enqueue_timeout_s": "longest a request waits for the broker to take a job; while it is disconnected none is tried (the sweep sends it later)",
    "shutdown_grace_s": "on SIGTERM, running jobs get this long to finish",
    "sweep_interval_s": "how often a worker looks for messages whose job was lost",
    "sweep_stuck_after_s": "a message never taken for this long is queued again",
    "max_message_bytes": "longer messages are refused with 422",
    "max_batch": "messages per `POST /api/messages/batch`",
    "max_body_bytes": "any request body over this is refused with 413 (the dashboard's Nginx uses the same value)",
    "classifier": "`auto` (the LLM when reachable and better than the built-in model on dev), `ollama` (the LLM always, fallback marked), `builtin`",
    "ollama_base_url": "Ollama server (the `/v1` suffix pydantic-ai needs is added)",
    "ollama_model": "model to classify with",
    "ollama_pull": "pull the model at worker start when missing",
    "ollama_timeout_s": "timeout of one Ollama call",
    "ollama_retries": "retries of a failed Ollama call before the fallback",
    "llm_concurrency": "concurrent LLM requests per worker process",
    "llm_response_format": "`json_schema` (Ollama, OpenAI) or `json_object` (`{type: json_object, schema}`, llama-cpp-python's server)",
    "llm_eval_examples": "dev rows the LLM is measured on against the built-in model before `auto` mode uses it (cached per model + prompt version)",
    "review_threshold": "below this category confidence a task is marked `needs_review` (so is every `urgent`)",
    "priority_review_threshold": "below this priority confidence (built-in model) a task is marked `needs_review`",
    "retrain_every": "retrain the built-in model after this many corrections (0: never)",
    "builtin_model_seed_dir": "read-only directory with a built-in model trained at image build, used when the data dir has none",
    "duplicate_window_h": "open tasks this recent are candidates for duplicates",
    "duplicate_threshold": "similarity (character n-grams over transliterated text and an en/uk/ru concept lexicon, vetoed by slot conflicts) from which a message joins an open task",
    "duplicate_llm": "the LLM as a second opinion on duplicate close calls: `auto` (when an LLM is configured and it beat the matcher alone on the tuning pairs), `on`, `off`",
    "duplicate_llm_band": "lowest matcher score (without a slot conflict) of a close call put to the LLM; the top is `duplicate_threshold`",
    "duplicate_llm_candidates": "close calls put to the LLM per message, best-scored first",
    "duplicate_llm_timeout_s": "how long a message's close calls may take together; no answer in time means no link",
    "duplicate_llm_eval_pairs": "tuning pairs matcher + LLM is measured on before `auto` uses it (cached per model + prompt version)",
    "telegram_bot_token": "enables the Telegram bot",
    "telegram_api_url": "another Telegram Bot API server (a local one, or a stand-in in tests)",
    "telegram_webhook_secret": "webhook mode: the secret Telegram must send with each update",
    "telegram_chats": "allow-list of chat ids, comma-separated; empty: every chat",
    "telegram_mode": "`auto`, `polling`, `webhook`, `off` (how `tasktracker run` receives updates)",
    "telegram_poll_timeout_s": "long-polling timeout of `getUpdates`",
    "bot_reply": "the bot replies to messages that became tasks",
    "public_url": "https URL the service is reached at (webhook registration, links)",
    "slack_signing_secret": "enables `POST /webhook/slack`",
    "webhook_tolerance_s": "signed webhooks older than this are refused",
    "receipts_keep_days": "days webhook receipts (deduplication) are kept",
    "export_max_attempts": "attempts of one export (or status push) before it is `failed` with the last reason",
    "export_backoff_s": "wait before the second attempt; doubles with each failure (a tracker's `Retry-After` wins)",
    "export_backoff_max_s": "longest wait between two attempts",
    "export_poll_interval_s": "how often the worker looks for due exports (retries, status pushes, lost jobs)",
    "export_reconcile_interval_s": "exported issues are re-read this often, to catch webhooks that never came",
    "export_reconcile_batch": "most exports one poll sends jobs for",
    "export_http_timeout_s": "timeout of one request to a tracker (no answer in time: retried, looked up first)",
    "export_allowed_hosts": "comma-separated host names, IP addresses and networks (CIDR) exports may reach although they are (or resolve to) loopback, private, link-local or unspecified addresses, e.g. `jira.corp.example,10.20.0.0/16`; without it exports reach public addresses only ([exports.md](exports.md#where-exports-may-connect)). Set on the API and the worker",
    "dashboard_dir": "serve the dashboard from this directory (default: the built one, when present)",
    "cors_origins": "comma-separated origins allowed to call the API from a browser",
    "ws_queue_size": "events queued per WebSocket client before it is disconnected",
    "ws_heartbeat_s": "WebSocket ping interval",
    "ws_send_timeout_s": "a WebSocket client that reads nothing this long while events wait is disconnected",
    "ws_origins": "comma-separated origins (`https://host[:port]`, `*`: any) whose pages may open `/ws`, besides the API's own",
    "trusted_hosts": "comma-separated host names the API answers to (`*.example.com`, `*`: any); loopback names always; other `Host` headers get 400 `untrusted_host`. Required by the API in production",
    "forwarded_allow_ips": "comma-separated proxy addresses or networks (`*`: any) whose `X-Forwarded-*` headers are believed; from other peers they are dropped",
    "tracing": "`auto` (OTLP when an endpoint is set), `console`, `off`",
    "otel_exporter_otlp_endpoint": "OTLP/HTTP collector, e.g. `http://otel-collector:4318`",
    "otel_exporter_otlp_traces_endpoint": "OTLP/HTTP traces endpoint, when not under the base endpoint",
    "rate_limit_ingest_per_s": "messages per second one API token (or session) may post through `POST /api/messages` and `/batch` (a batch counts its rows), per API replica; 0: no limit. Over it: 429 `rate_limited` with `Retry-After`",
    "rate_limit_ingest_burst": "messages a token may post at once above that rate (a batch larger than this passes when the bucket is full)",
    "rate_limit_webhook_per_s": "deliveries per second per channel on `/webhook/slack` and `/webhook/generic/{channel}`, and per export target on `/webhook/github`, `/webhook/jira` and `/webhook/linear` (counted after the signature check), per API replica; 0: no limit",
    "rate_limit_webhook_burst": "deliveries a channel or export target may send at once above that rate",
    "rate_limit_classify_per_s": "`POST /api/classify` calls per second one API token (or session) may make, per API replica (each runs the model for its caller: CPU, or an LLM call); 0: no limit",
    "rate_limit_classify_burst": "classify calls a token may make at once above that rate",
    "rate_limit_login_account_per_min": "failed sign-ins per minute an account may have before further attempts get 429 (recovery: `tasktracker user link`); 0: no limit",
    "rate_limit_login_account_burst": "failed sign-ins an account may have in a row",
    "rate_limit_login_ip_per_min": "sign-in attempts per minute from one client address (behind trusted proxies: the forwarded address); 0: no limit",
    "rate_limit_login_ip_burst": "sign-in attempts one address may make in a row",
    "rate_limit_max_keys": "buckets each limit keeps (least recently used dropped first): bounds the memory a flood of distinct keys can take",
}

UNDOCUMENTED = "(no description yet)"


@dataclass(frozen=True)
class SettingDoc:
    field: str
    names: list[str]  # environment names, most specific first
    file_names: list[str]  # `<NAME>_FILE` forms, for settings that may come from a file
    type: str
    default: str
    description: str
    secret: bool


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) in (Union, UnionType):
        parts = [arg for arg in get_args(annotation) if arg is not type(None)]
        return " or ".join(_type_name(arg) for arg in parts)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{member.value}`" for member in annotation)
    if annotation is SecretStr:
        return "secret"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _default(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, SecretStr):
        return f"`{value.get_secret_value()}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def reference() -> list[SettingDoc]:
    """Every setting, in section order (settings no section names come last)."""
    order = [name for names in SECTIONS.values() for name in names]
    fields = Settings.model_fields
    rest = [name for name in fields if name not in order]
    docs = []
    for name in [*(n for n in order if n in fields), *rest]:
        info = fields[name]
        names = env_names(name)
        docs.append(
            SettingDoc(
                field=name,
                names=names,
                file_names=[f"{env}_FILE" for env in names] if name in FILE_SETTINGS else [],
                type=_type_name(info.annotation),
                default=_default(info.default),
                description=info.description or DESCRIPTIONS.get(name, UNDOCUMENTED),
                secret="secret" in _type_name(info.annotation) or name in FILE_SETTINGS,
            )
        )
    return docs


def known_env_names() -> set[str]:
    """Every environment variable name `Settings` reads, `_FILE` forms included."""
    return {name for doc in reference() for name in (*doc.names, *doc.file_names)}


def _section_of(field: str) -> str:
    for section, names in SECTIONS.items():
        if field in names:
            return section
    return "Other"


def render_markdown() -> str:
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `tasktracker config --docs` from `Settings` (services/tasktracker/config.py);",
        "     do not edit by hand: `make docs` rewrites it, and a test fails when it is stale. -->",
        "",
        "Every setting is an environment variable. The `TASKTRACKER_`-prefixed name always works; the bare",
        "conventional names (`DATABASE_URL`, `NATS_URL`, …) are accepted where listed. A bad value stops the",
        "process with one line naming the variable.",
        "",
        "Settings marked *file* can also be read from a file: `<NAME>_FILE=/path` (for example a mounted",
        "Kubernetes Secret), so secrets need not sit in the environment. Giving both the value and its",
        "`_FILE` is refused, and so is a file that cannot be read. One trailing newline is dropped.",
        "",
    ]
    for section, docs in groupby(reference(), key=lambda doc: _section_of(doc.field)):
        lines += [f"## {section}", "", "| variable | default | type | meaning |", "|---|---|---|---|"]
        for doc in docs:
            names = " / ".join(f"`{name}`" for name in doc.names)
            if doc.file_names:
                names += " (*file*)"
            lines.append(f"| {names} | {doc.default} | {doc.type} | {doc.description} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
