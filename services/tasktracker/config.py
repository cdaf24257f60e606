"""One settings object: the only place that reads the environment.

Names use the `TASKTRACKER_` prefix, plus the conventional bare names where they exist
(`DATABASE_URL`, `NATS_URL`, `OLLAMA_BASE_URL`, `TELEGRAM_BOT_TOKEN`, `PORT`).
Defaults are the embedded mode: an SQLite file, an in-process broker, the built-in classifier.
Secrets and URLs can also come from files (`<NAME>_FILE`, e.g. a mounted Kubernetes Secret), see
`FILE_SETTINGS`.
"""

from __future__ import annotations

import os
import re
import sys
from enum import StrEnum
from functools import lru_cache
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class TelegramMode(StrEnum):
    """How the Telegram bot receives updates in the embedded `tasktracker run`."""

    auto = "auto"  # polling, unless a webhook secret is set (then the API's webhook)
    polling = "polling"
    webhook = "webhook"
    off = "off"


class ClassifierMode(StrEnum):
    """Which classifier chain the worker uses."""

    auto = "auto"  # Ollama when reachable, else the built-in model
    ollama = "ollama"  # Ollama, falling back to the built-in model on failure
    builtin = "builtin"  # the built-in model only


class DuplicateLLMMode(StrEnum):
    """Whether the LLM gives a second opinion on duplicate close calls."""

    auto = "auto"  # when an LLM is configured, once it has beaten the matcher alone on the tuning pairs
    on = "on"  # always (the gate still runs, to report)
    off = "off"  # never


class TracingMode(StrEnum):
    """Where spans go."""

    auto = "auto"  # OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, else off
    console = "console"  # printed to standard output, one JSON object per span (local debugging)
    off = "off"  # no spans, whatever the OTEL_* variables say


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_HOST_PATTERN = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[?[0-9A-Fa-f:.]+\]?")


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"TASKTRACKER_{name}", name)


def normalise_database_url(url: str) -> str:
    """Map the URL forms people paste into the async driver SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def normalise_ollama_url(url: str) -> str:
    """pydantic-ai's Ollama provider talks to the OpenAI-compatible API and needs the `/v1` suffix."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# Settings that may also be read from a file named by `<env name>_FILE` (a mounted Secret), so that
# secrets need not sit in environment variables.
FILE_SETTINGS = (
    "secret_key",
    "database_url",
    "database_password",
    "nats_url",
    "telegram_bot_token",
    "telegram_webhook_secret",
    "slack_signing_secret",
    "metrics_token",
    "previous_secret_keys",
    "admin_password",
)


def env_names(field_name: str) -> list[str]:
    """The environment variable names a field reads, most specific first."""
    info = Settings.model_fields[field_name]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice).upper() for choice in alias.choices]
    return [f"TASKTRACKER_{field_name.upper()}"]


class FileSettingsSource(PydanticBaseSettingsSource):
    """Values of `FILE_SETTINGS` from `<NAME>_FILE`: the file's content, one trailing newline dropped."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything happens in __call__

    def __call__(self) -> dict[str, Any]:
        environ = {key.upper(): value for key, value in os.environ.items()}
        values: dict[str, Any] = {}
        for field_name in FILE_SETTINGS:
            names = env_names(field_name)
            for name in names:
                path = environ.get(f"{name}_FILE", "")
                if not path:
                    continue
                given = [other for other in names if environ.get(other)]
                if given:
                    raise ConfigError(f"{name}_FILE and {given[0]} are both set: give the value once")
                try:
                    content = Path(path).read_text(encoding="utf-8")
                except OSError as exc:
                    raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror or exc}") from None
                values[field_name] = content.removesuffix("\n").removesuffix("\r")
                break
        return values


class AuthMode(StrEnum):
    """Whether the API asks who is calling."""

    on = "on"  # users, roles, sessions and API tokens
    off = "off"  # every caller is a local admin: accepted only when the API binds a loopback address


class ApiDocs(StrEnum):
    """Who may read /docs, /redoc and /openapi.json."""

    open = "open"
    viewer = "viewer"  # a signed-in user (any role)
    off = "off"


class LogFormat(StrEnum):
    auto = "auto"  # JSON lines when stderr is not a terminal, text on a terminal
    json = "json"
    text = "text"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKTRACKER_", env_file=None, extra="ignore", populate_by_name=True
    )

    environment: Environment = Environment.development
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535, validation_alias=_env("PORT"))
    log_level: str = "info"
    log_format: LogFormat = LogFormat.auto
    # Bearer token Prometheus sends to read /metrics; unset, nobody can read them.
    metrics_token: SecretStr | None = None
    secret_key: SecretStr = SecretStr("change-me")
    # Comma-separated keys used before the current one: stored secrets sealed with them stay readable
    # until `tasktracker secrets rotate` has re-encrypted them.
    previous_secret_keys: SecretStr | None = None

    auth: AuthMode = AuthMode.on
    # Default: open in development and test, `viewer` in production.
    api_docs: ApiDocs | None = None
    # An admin the API creates at start when no user of that name exists (never changes an existing one);
    # a password alone names `admin`.
    admin_username: str = Field(default="", max_length=64)
    admin_password: SecretStr | None = None
    admin_email: str = Field(default="", max_length=254)
    # A dashboard sign-in lasts this long after its last use (sliding).
    session_ttl_h: float = Field(default=14 * 24.0, gt=0, le=366 * 24)
    login_link_ttl_s: int = Field(default=15 * 60, ge=10, le=7 * 24 * 3600)
    # How long a checked session or API token is believed without asking the database. Revoking,
    # signing out, disabling or a role change end it at once (in other processes via the event bus).
    auth_cache_ttl_s: float = Field(default=30.0, ge=0, le=3600)

    database_url: str = Field(default="", validation_alias=_env("DATABASE_URL"))
    # Given apart from the URL (as PostgreSQL Secrets hold it): put into the URL, which must name the user.
    database_password: SecretStr | None = None
    database_pool_size: int = Field(default=20, ge=1, le=500)
    database_max_overflow: int = Field(default=20, ge=0, le=500)
    database_connect_timeout_s: float = Field(default=5.0, gt=0, le=300)

    nats_url: str = Field(default="", validation_alias=_env("NATS_URL"))
    nats_stream: str = "tasktracker_jobs"
    nats_subject: str = "tasktracker.jobs"
    nats_durable: str = "tasktracker_workers"
    nats_events_subject: str = "tasktracker.events"
    job_ack_wait_s: float = Field(default=300.0, gt=0)
    job_max_deliver: int = Field(default=5, ge=1)
    job_max_age_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    # The jobs in hand at once are classified as one group (worker/batch.py): this bounds the group size.
    worker_concurrency: int = Field(default=64, ge=1, le=1000)
    # A request never waits longer on the broker: unsent jobs are left to the sweep.
    enqueue_timeout_s: float = Field(default=1.0, gt=0, le=60)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    # Worker and bot: /healthz and /readyz for Kubernetes probes and the image's HEALTHCHECK (0: off).
    health_port: int = Field(default=8081, ge=0, le=65535)

    sweep_interval_s: float = Field(default=30.0, gt=0)
    sweep_stuck_after_s: float = Field(default=120.0, gt=0)

    max_message_bytes: int = Field(default=16 * 1024, ge=1)
    max_batch: int = Field(default=500, ge=1, le=10_000)
    # Any request body: a full batch of maximal messages fits (500 x 16 KiB plus JSON overhead).
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    classifier: ClassifierMode = ClassifierMode.auto
    ollama_base_url: str = Field(default="http://127.0.0.1:11434", validation_alias=_env("OLLAMA_BASE_URL"))
    ollama_model: str = "qwen2.5:3b-instruct"
    ollama_pull: bool = False
    ollama_timeout_s: float = Field(default=60.0, gt=0)
    ollama_retries: int = Field(default=2, ge=0, le=10)
    llm_concurrency: int = Field(default=2, ge=1, le=64)
    # How the answer's JSON schema is sent: OpenAI's `json_schema` type (Ollama, vLLM, ...) or
    # `{"type": "json_object", "schema": ...}` (llama-cpp-python's server).
    llm_response_format: Literal["json_schema", "json_object"] = "json_schema"
    # Champion/challenger: dev rows the LLM is measured on against the built-in model at worker start.
    llm_eval_examples: int = Field(default=60, ge=10, le=1000)
    review_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    # Below this probability of the chosen priority (built-in model) a task goes to review too.
    priority_review_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    retrain_every: int = Field(default=25, ge=0)
    # A read-only directory holding a built-in model trained at image build (the image sets it), used
    # when the data dir has none: a fresh volume at the data dir does not cost a retraining.
    builtin_model_seed_dir: Path | None = None

    duplicate_window_h: float = Field(default=72.0, gt=0)
    duplicate_threshold: float = Field(default=0.75, gt=0, le=1.0)
    # The LLM as a second opinion on close calls (`ai/duplicate_judge.py`): pairs scoring in
    # [duplicate_llm_band, duplicate_threshold) without a slot conflict, at most
    # `duplicate_llm_candidates` per message, all of a message's calls within `duplicate_llm_timeout_s`.
    duplicate_llm: DuplicateLLMMode = DuplicateLLMMode.auto
    duplicate_llm_band: float = Field(default=0.2, gt=0, lt=1.0)
    duplicate_llm_candidates: int = Field(default=3, ge=1, le=20)
    duplicate_llm_timeout_s: float = Field(default=30.0, gt=0)
    # The gate: tuning pairs matcher + LLM is measured on against the matcher alone (cached).
    duplicate_llm_eval_pairs: int = Field(default=120, ge=10, le=2000)

    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_api_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_chats: str = ""
    telegram_mode: TelegramMode = TelegramMode.auto
    telegram_poll_timeout_s: int = Field(default=30, ge=0, le=50)
    bot_reply: bool = False
    public_url: str = ""
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)
    receipts_keep_days: int = Field(default=14, ge=1)

    # Exports to GitHub, Jira, Linear and webhooks: attempts, backoff, and how often the worker looks for
    # due exports and re-reads exported issues (sync back for webhooks that never arrived).
    export_max_attempts: int = Field(default=8, ge=1, le=100)
    export_backoff_s: float = Field(default=10.0, gt=0)
    export_backoff_max_s: float = Field(default=3600.0, gt=0)
    export_poll_interval_s: float = Field(default=5.0, gt=0)
    export_reconcile_interval_s: float = Field(default=900.0, gt=0)
    export_reconcile_batch: int = Field(default=100, ge=1, le=10_000)
    export_http_timeout_s: float = Field(default=20.0, gt=0)
    # Exports reach public addresses only (no loopback, private, link-local or unspecified ones: the
    # cluster's services and cloud metadata stay out of reach). Host names and IP addresses or
    # networks listed here are allowed anyway, e.g. `jira.corp.example,10.20.0.0/16`.
    export_allowed_hosts: str = ""

    dashboard_dir: Path | None = None
    cors_origins: str = ""
    # Host names the API answers to (DNS-rebinding guard); loopback names are always accepted.
    trusted_hosts: str = ""
    # Origins (`https://host[:port]`) whose pages may open /ws, besides the page's own origin.
    ws_origins: str = ""
    # Peers whose X-Forwarded-* headers are believed (reverse proxies): addresses or networks.
    forwarded_allow_ips: str = Field(default="127.0.0.1,::1", validation_alias=_env("FORWARDED_ALLOW_IPS"))
    ws_queue_size: int = Field(default=256, ge=1)
    ws_heartbeat_s: float = Field(default=20.0, gt=0)
    # A dashboard that reads nothing for this long while events wait for it is disconnected.
    ws_send_timeout_s: float = Field(default=10.0, gt=0, le=600)

    # Rate limits (token buckets per API process; 0 turns one off): a rate and the burst above it.
    rate_limit_ingest_per_s: float = Field(default=5000.0, ge=0)
    rate_limit_ingest_burst: int = Field(default=50_000, ge=1)
    rate_limit_webhook_per_s: float = Field(default=50.0, ge=0)
    rate_limit_webhook_burst: int = Field(default=1000, ge=1)
    rate_limit_classify_per_s: float = Field(default=10.0, ge=0)
    rate_limit_classify_burst: int = Field(default=60, ge=1)
    rate_limit_login_account_per_min: float = Field(default=5.0, ge=0)
    rate_limit_login_account_burst: int = Field(default=10, ge=1)
    rate_limit_login_ip_per_min: float = Field(default=30.0, ge=0)
    rate_limit_login_ip_burst: int = Field(default=60, ge=1)
    rate_limit_max_keys: int = Field(default=50_000, ge=100, le=10_000_000)

    tracing: TracingMode = TracingMode.auto
    # The standard OpenTelemetry names, read here like the other bare names. The exporter speaks
    # OTLP over HTTP (a collector's port 4318); the SDK reads the rest (headers, timeout, TLS) itself.
    otel_exporter_otlp_endpoint: str = Field(
        default="", validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_exporter_otlp_traces_endpoint: str = Field(
        default="", validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            FileSettingsSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @field_validator("database_url", mode="after")
    @classmethod
    def _normalise_db(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("must be a URL such as postgresql://user@host/db or sqlite:///path.db")
        return normalise_database_url(value)

    @field_validator("nats_url", mode="after")
    @classmethod
    def _check_nats(cls, value: str) -> str:
        if value and not value.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError("must be a nats:// URL, e.g. nats://127.0.0.1:4222")
        return value

    @field_validator("ollama_base_url", mode="after")
    @classmethod
    def _check_ollama(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL, e.g. http://127.0.0.1:11434")
        return value.rstrip("/")

    @field_validator("otel_exporter_otlp_endpoint", "otel_exporter_otlp_traces_endpoint", mode="after")
    @classmethod
    def _check_otlp(cls, value: str) -> str:
        value = value.strip()
        if value and not _is_http_url(value):
            raise ValueError(
                "must be an http(s):// URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318"
            )
        return value

    @field_validator("trusted_hosts", mode="after")
    @classmethod
    def _check_hosts(cls, value: str) -> str:
        for host in _split(value):
            if host != "*" and not _HOST_PATTERN.fullmatch(host):
                raise ValueError(
                    f"{host!r} is not a host name; give names such as tracker.example.com, *.example.com or *"
                )
        return value

    @field_validator("ws_origins", mode="after")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        for origin in _split(value):
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path):
                raise ValueError(
                    f"{origin!r} is not an origin; give scheme://host[:port], e.g. https://tt.example.com"
                )
        return value

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _check_cors_origins(cls, value: str) -> str:
        for origin in _split(value):
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or origin == "*":
                raise ValueError(
                    f"{origin!r} is not an origin; give exact origins, scheme://host[:port] "
                    "(no wildcard: every origin allowed would let any site call the API)"
                )
        return value

    @field_validator("export_allowed_hosts", mode="after")
    @classmethod
    def _check_export_hosts(cls, value: str) -> str:
        for item in _split(value):
            try:
                ip_network(item.strip("[]"), strict=False)
            except ValueError:
                if item.startswith("*") or not _HOST_PATTERN.fullmatch(item):
                    raise ValueError(
                        f"{item!r} is not a host name, IP address or network; give e.g. "
                        "jira.corp.example, 10.0.0.5 or 10.20.0.0/16"
                    ) from None
        return value

    @field_validator("forwarded_allow_ips", mode="after")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for item in _split(value):
            if item == "*":
                continue
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8), nor *"
                ) from None
        return value

    @model_validator(mode="after")
    def _database_password(self) -> Settings:
        if self.database_password is None:
            return self
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        password = self.database_password.get_secret_value()
        if not self.database_url or self.database_url.startswith("sqlite"):
            raise ValueError("TASKTRACKER_DATABASE_PASSWORD needs a PostgreSQL DATABASE_URL naming the user")
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            raise ValueError("DATABASE_URL is not a database URL") from None
        if not url.username:
            raise ValueError("DATABASE_URL must name the user that TASKTRACKER_DATABASE_PASSWORD belongs to")
        if url.password is not None and url.password != password:
            raise ValueError("DATABASE_URL holds a password and TASKTRACKER_DATABASE_PASSWORD another one")
        self.database_url = url.set(password=password).render_as_string(hide_password=False)
        return self

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.environment is Environment.production:
            if self.secret_key.get_secret_value() == "change-me":
                raise ValueError("TASKTRACKER_SECRET_KEY must be set in production")
            if not self.database_url:
                raise ValueError("DATABASE_URL must be set in production")
        return self

    @model_validator(mode="after")
    def _admin_bootstrap(self) -> Settings:
        if self.admin_username and self.admin_password is None:
            raise ValueError("TASKTRACKER_ADMIN_USERNAME needs TASKTRACKER_ADMIN_PASSWORD (or _FILE)")
        if self.admin_password is not None and not self.admin_username:
            self.admin_username = "admin"
        if self.admin_password is not None and len(self.admin_password.get_secret_value()) < 12:
            raise ValueError("TASKTRACKER_ADMIN_PASSWORD must be at least 12 characters")
        return self

    def check_bind(self, host: str) -> None:
        """`TASKTRACKER_AUTH=off` lets anyone who reaches the port act as admin: loopback only."""
        if self.auth is AuthMode.off and not is_loopback(host):
            raise ConfigError(
                f"TASKTRACKER_AUTH=off is accepted only when the API binds a loopback address "
                f"(127.0.0.1, ::1, localhost), not {host!r}"
            )

    def check_serving(self) -> None:
        """What serving HTTP needs besides the checks above (a worker, the bot or a migration do not)."""
        self.check_bind(self.host)
        if self.environment is Environment.production and not _split(self.trusted_hosts):
            raise ConfigError(
                "TASKTRACKER_TRUSTED_HOSTS must be set in production: the host names clients use "
                "(comma-separated; * accepts any)"
            )

    # Derived values -------------------------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tasktracker.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def auth_on(self) -> bool:
        return self.auth is AuthMode.on

    @property
    def effective_api_docs(self) -> ApiDocs:
        if self.api_docs is not None:
            return self.api_docs
        return ApiDocs.viewer if self.environment is Environment.production else ApiDocs.open

    @property
    def secure_cookies(self) -> bool:
        """Session cookies only over HTTPS, except in development (http://127.0.0.1)."""
        return self.environment is not Environment.development

    @property
    def embedded_broker(self) -> bool:
        return not self.nats_url

    @property
    def duplicate_llm_wanted(self) -> bool:
        """Whether a worker builds the duplicate judge: forced on, or auto with an LLM configured."""
        return self.duplicate_llm is DuplicateLLMMode.on or (
            self.duplicate_llm is DuplicateLLMMode.auto and self.classifier is not ClassifierMode.builtin
        )

    @property
    def llm_run_timeout_s(self) -> float:
        """How long one classification by the LLM may take: every request may take the full
        `ollama_timeout_s`, and each of the `ollama_retries` is one request more."""
        return self.ollama_timeout_s * (self.ollama_retries + 1) + 1.0

    @property
    def llm_wait_timeout_s(self) -> float:
        """How long the fallback chain waits for the LLM: one run, plus one request's time in the queue."""
        return self.llm_run_timeout_s + self.ollama_timeout_s

    @property
    def ollama_openai_url(self) -> str:
        return normalise_ollama_url(self.ollama_base_url)

    @property
    def telegram_chat_ids(self) -> set[int]:
        return {int(part) for part in self.telegram_chats.replace(";", ",").split(",") if part.strip()}

    @property
    def otlp_traces_url(self) -> str:
        """Where spans are posted: the traces endpoint as given, or `/v1/traces` under the base endpoint."""
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        if self.otel_exporter_otlp_endpoint:
            return self.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return ""

    @property
    def previous_secret_key_list(self) -> list[str]:
        keys = self.previous_secret_keys.get_secret_value() if self.previous_secret_keys else ""
        return _split(keys)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)

    @property
    def trusted_host_list(self) -> list[str]:
        """Lower-case host names (no port) the API answers to; loopback names are always among them."""
        return [*LOOPBACK_HOSTS, *(h.lower().strip("[]") for h in _split(self.trusted_hosts))]

    @property
    def ws_origin_list(self) -> list[str]:
        return [origin.lower().rstrip("/") for origin in _split(self.ws_origins)]

    @property
    def export_allowed_host_list(self) -> list[str]:
        return _split(self.export_allowed_hosts)

    @property
    def forwarded_allow_list(self) -> list[str]:
        return _split(self.forwarded_allow_ips)


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


def _env_names(key: str) -> list[str]:
    """The environment names of a field, given its name or one of its aliases."""
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
        if key == name or key in choices:
            return env_names(name)
    return [key.upper()]


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        names = _env_names(str(loc[0])) if loc else ["configuration"]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        lines.append(f"{' / '.join(names)}: {message}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation failure into one clear line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def settings_or_exit() -> Settings:
    """For commands: the settings, or one line `configuration error: ...` on stderr and exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
