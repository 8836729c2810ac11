"""Every tunable of Trailhound, read once from environment variables into one frozen object.

Operators configure a deployment only through the environment (see the table in the README), so the
same code runs on a laptop demo, in CI and on a partner's servers. Nothing else in the code base reads
``os.environ``; components receive the :class:`Settings` they need.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

__all__ = ["PARTNER_SECRET_PREFIX", "Settings", "SettingsError"]


T = TypeVar("T")

DEFAULT_MAX_POST_BYTES = 256 * 1024
DEFAULT_MAX_JSON_DEPTH = 32
PARTNER_SECRET_PREFIX = "TRAILHOUND_SECRET_"
"""Partner secrets are read from environment variables with this prefix (the partners file names them)."""


class SettingsError(ValueError):
    """An environment variable holds a value Trailhound cannot use."""


def _number(env: dict[str, str], name: str, default: T, kind: Callable[[str], T], what: str) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not {what}") from exc


def _int(env: dict[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


def _float(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _switch(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise SettingsError(f"{name}={raw!r} is not on or off (1/0, true/false, yes/no, on/off)")
    return raw in ("1", "true", "yes", "on")


def _default_cache() -> Path:
    return Path.home() / ".cache" / "trailhound"


@dataclass(frozen=True)
class Settings:
    """Validated configuration; build it with :meth:`from_env`."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    cache_dir: Path = field(default_factory=_default_cache)
    namespace: str = ""
    partitions: int = 4
    bind_host: str = "127.0.0.1"
    worker_web_port: int = 6066
    ingest_http_port: int = 8088
    alert_threshold: float = 0.5
    max_post_bytes: int = DEFAULT_MAX_POST_BYTES
    kafka_heap: str = "512m"
    elasticsearch_heap: str = "512m"
    analysts: tuple[str, ...] = ()
    feedback_key: str = ""
    worker_key: str = ""
    publisher_key: str = ""
    ingest_token: str = ""
    worker_token: str = ""
    patterns_dir: Path | None = None
    max_request_bytes: int = 32 * 1024 * 1024
    max_request_posts: int = 10_000
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_contacts: int = 20
    max_text_chars: int = 10_000
    match_budget_ms: float = 50.0
    batch_within_ms: float = 30.0
    verdict_window_days: float = 90.0
    contact_retention_days: float = 7.0
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    elasticsearch_ca_certs: Path | None = None
    partners_file: Path | None = None
    partner_secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    group_window_s: float = 86400.0
    escalator_port: int = 6068
    escalator_url: str = ""
    linkage_retention_days: float = 14.0
    link_text_similarity: float = 0.6
    link_image_radius: int = 3
    key_index_store: str = "disk"
    hub_min_texts: int = 25
    linkage_max_cluster_posts: int = 1000
    circuit_min_cities: int = 3
    template_min_contacts: int = 3
    console_port: int = 8090
    console_metrics_port: int = 8091
    console_session_hours: float = 12.0
    worker_url: str = ""
    enrich_processes: int = 0
    linkage_process: bool = True
    linkage_silent_s: float = 120.0
    linkage_nice: int = 10

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls(
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            elasticsearch_url=env.get("ELASTICSEARCH_URL", cls.elasticsearch_url).rstrip("/"),
            cache_dir=Path(env["TRAILHOUND_CACHE"]) if env.get("TRAILHOUND_CACHE") else _default_cache(),
            namespace=env.get("TRAILHOUND_NAMESPACE", ""),
            partitions=_int(env, "TRAILHOUND_PARTITIONS", cls.partitions),
            bind_host=env.get("TRAILHOUND_BIND", cls.bind_host),
            worker_web_port=_int(env, "TRAILHOUND_WORKER_PORT", cls.worker_web_port),
            ingest_http_port=_int(env, "TRAILHOUND_INGEST_PORT", cls.ingest_http_port),
            alert_threshold=_float(env, "TRAILHOUND_ALERT_THRESHOLD", cls.alert_threshold),
            max_post_bytes=_int(env, "TRAILHOUND_MAX_POST_BYTES", cls.max_post_bytes),
            kafka_heap=env.get("TRAILHOUND_KAFKA_HEAP", cls.kafka_heap),
            elasticsearch_heap=env.get("TRAILHOUND_ES_HEAP", cls.elasticsearch_heap),
            analysts=tuple(a.strip() for a in env.get("TRAILHOUND_ANALYSTS", "").split(",") if a.strip()),
            feedback_key=env.get("TRAILHOUND_FEEDBACK_KEY", ""),
            worker_key=env.get("TRAILHOUND_WORKER_KEY", ""),
            publisher_key=env.get("TRAILHOUND_PUBLISHER_KEY", ""),
            ingest_token=env.get("TRAILHOUND_INGEST_TOKEN", ""),
            worker_token=env.get("TRAILHOUND_WORKER_TOKEN", ""),
            max_request_bytes=_int(env, "TRAILHOUND_MAX_REQUEST_BYTES", cls.max_request_bytes),
            max_request_posts=_int(env, "TRAILHOUND_MAX_REQUEST_POSTS", cls.max_request_posts),
            max_json_depth=_int(env, "TRAILHOUND_MAX_JSON_DEPTH", cls.max_json_depth),
            max_contacts=_int(env, "TRAILHOUND_MAX_CONTACTS", cls.max_contacts),
            max_text_chars=_int(env, "TRAILHOUND_MAX_TEXT_CHARS", cls.max_text_chars),
            match_budget_ms=_float(env, "TRAILHOUND_MATCH_BUDGET_MS", cls.match_budget_ms),
            batch_within_ms=_float(env, "TRAILHOUND_BATCH_WITHIN_MS", cls.batch_within_ms),
            verdict_window_days=_float(env, "TRAILHOUND_VERDICT_WINDOW_DAYS", cls.verdict_window_days),
            contact_retention_days=_float(env, "TRAILHOUND_CONTACT_RETENTION_DAYS", cls.contact_retention_days),
            kafka_sasl_username=env.get("KAFKA_SASL_USERNAME", ""),
            kafka_sasl_password=env.get("KAFKA_SASL_PASSWORD", ""),
            kafka_sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", cls.kafka_sasl_mechanism),
            elasticsearch_ca_certs=Path(env["ELASTICSEARCH_CA_CERTS"]) if env.get("ELASTICSEARCH_CA_CERTS") else None,
            patterns_dir=Path(env["TRAILHOUND_PATTERNS_DIR"]) if env.get("TRAILHOUND_PATTERNS_DIR") else None,
            partners_file=Path(env["TRAILHOUND_PARTNERS_FILE"]) if env.get("TRAILHOUND_PARTNERS_FILE") else None,
            partner_secrets=tuple(sorted((k, v) for k, v in env.items() if k.startswith(PARTNER_SECRET_PREFIX))),
            group_window_s=_float(env, "TRAILHOUND_GROUP_WINDOW_S", cls.group_window_s),
            escalator_port=_int(env, "TRAILHOUND_ESCALATOR_PORT", cls.escalator_port),
            escalator_url=env.get("TRAILHOUND_ESCALATOR_URL", "").rstrip("/"),
            linkage_retention_days=_float(env, "TRAILHOUND_LINKAGE_RETENTION_DAYS", cls.linkage_retention_days),
            link_text_similarity=_float(env, "TRAILHOUND_LINK_TEXT_SIMILARITY", cls.link_text_similarity),
            link_image_radius=_int(env, "TRAILHOUND_LINK_IMAGE_RADIUS", cls.link_image_radius),
            key_index_store=env.get("TRAILHOUND_KEY_INDEX_STORE", cls.key_index_store),
            hub_min_texts=_int(env, "TRAILHOUND_HUB_MIN_TEXTS", cls.hub_min_texts),
            linkage_max_cluster_posts=_int(env, "TRAILHOUND_LINKAGE_MAX_CLUSTER_POSTS", cls.linkage_max_cluster_posts),
            circuit_min_cities=_int(env, "TRAILHOUND_CIRCUIT_MIN_CITIES", cls.circuit_min_cities),
            template_min_contacts=_int(env, "TRAILHOUND_TEMPLATE_MIN_CONTACTS", cls.template_min_contacts),
            console_port=_int(env, "TRAILHOUND_CONSOLE_PORT", cls.console_port),
            console_metrics_port=_int(env, "TRAILHOUND_CONSOLE_METRICS_PORT", cls.console_metrics_port),
            console_session_hours=_float(env, "TRAILHOUND_CONSOLE_SESSION_HOURS", cls.console_session_hours),
            worker_url=env.get("TRAILHOUND_WORKER_URL", "").rstrip("/"),
            enrich_processes=_int(env, "TRAILHOUND_ENRICH_PROCESSES", cls.enrich_processes),
            linkage_process=_switch(env, "TRAILHOUND_LINKAGE_PROCESS", cls.linkage_process),
            linkage_silent_s=_float(env, "TRAILHOUND_LINKAGE_SILENT_S", cls.linkage_silent_s),
            linkage_nice=_int(env, "TRAILHOUND_LINKAGE_NICE", cls.linkage_nice),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.enrich_processes < 0:
            raise SettingsError("TRAILHOUND_ENRICH_PROCESSES must be 0 (enrich in the worker) or more")
        if self.partitions < 1:
            raise SettingsError("TRAILHOUND_PARTITIONS must be at least 1")
        if not 0.0 < self.alert_threshold <= 1.0:
            raise SettingsError("TRAILHOUND_ALERT_THRESHOLD must be in (0, 1]")
        if ":" not in self.kafka_bootstrap:
            raise SettingsError(f"KAFKA_BOOTSTRAP={self.kafka_bootstrap!r} must be host:port")
        for name, secret in (("TRAILHOUND_FEEDBACK_KEY", self.feedback_key), ("TRAILHOUND_WORKER_KEY", self.worker_key),
                             ("TRAILHOUND_PUBLISHER_KEY", self.publisher_key),
                             ("TRAILHOUND_INGEST_TOKEN", self.ingest_token),
                             ("TRAILHOUND_WORKER_TOKEN", self.worker_token)):
            if secret and len(secret) < 32:
                raise SettingsError(f"{name} must be at least 32 characters")
        if self.worker_key and self.worker_key in (self.feedback_key, self.publisher_key):
            raise SettingsError("TRAILHOUND_WORKER_KEY must differ from the feedback and publisher keys")
        for name, limit in (("TRAILHOUND_MAX_REQUEST_BYTES", self.max_request_bytes),
                            ("TRAILHOUND_MAX_REQUEST_POSTS", self.max_request_posts),
                            ("TRAILHOUND_MAX_JSON_DEPTH", self.max_json_depth),
                            ("TRAILHOUND_MAX_CONTACTS", self.max_contacts),
                            ("TRAILHOUND_MAX_TEXT_CHARS", self.max_text_chars),
                            ("TRAILHOUND_MATCH_BUDGET_MS", self.match_budget_ms),
                            ("TRAILHOUND_BATCH_WITHIN_MS", self.batch_within_ms),
                            ("TRAILHOUND_VERDICT_WINDOW_DAYS", self.verdict_window_days),
                            ("TRAILHOUND_CONTACT_RETENTION_DAYS", self.contact_retention_days)):
            if limit <= 0:
                raise SettingsError(f"{name} must be positive")
        if self.group_window_s <= 0:
            raise SettingsError("TRAILHOUND_GROUP_WINDOW_S must be positive")
        if not math.isfinite(self.linkage_silent_s) or self.linkage_silent_s < 10:
            raise SettingsError("TRAILHOUND_LINKAGE_SILENT_S must be at least 10 (the process reports every 5 s)")
        if not 0 <= self.linkage_nice <= 19:
            raise SettingsError("TRAILHOUND_LINKAGE_NICE must be a niceness from 0 (no lower priority) to 19")
        self._validate_connections()
        if not 0.0 < self.linkage_retention_days <= 14.0:
            raise SettingsError("TRAILHOUND_LINKAGE_RETENTION_DAYS must be in (0, 14]: linkage topics keep two weeks")
        if not 0.0 < self.link_text_similarity <= 1.0:
            raise SettingsError("TRAILHOUND_LINK_TEXT_SIMILARITY must be in (0, 1]")
        if not 0 <= self.link_image_radius <= 3:
            raise SettingsError("TRAILHOUND_LINK_IMAGE_RADIUS must be 0 to 3 bits (image keys are exact up to 3)")
        if self.key_index_store not in ("disk", "memory"):
            raise SettingsError(f"TRAILHOUND_KEY_INDEX_STORE={self.key_index_store!r} is not disk or memory")
        if min(self.hub_min_texts, self.circuit_min_cities, self.template_min_contacts) < 2:
            raise SettingsError("TRAILHOUND_HUB_MIN_TEXTS, _CIRCUIT_MIN_CITIES and _TEMPLATE_MIN_CONTACTS must be >= 2")
        if self.linkage_max_cluster_posts < 2:
            raise SettingsError("TRAILHOUND_LINKAGE_MAX_CLUSTER_POSTS must be >= 2 (a cluster is two posts or more)")
        if self.feedback_key and len(self.feedback_key) < 32:
            raise SettingsError("TRAILHOUND_FEEDBACK_KEY must be at least 32 characters")
        if self.console_session_hours <= 0:
            raise SettingsError("TRAILHOUND_CONSOLE_SESSION_HOURS must be positive")
        if not self.elasticsearch_url.startswith(("http://", "https://")):
            raise SettingsError(f"ELASTICSEARCH_URL={self.elasticsearch_url!r} must start with http(s)://")

    def _validate_connections(self) -> None:
        if self.kafka_sasl_username and not self.kafka_sasl_password:
            raise SettingsError("KAFKA_SASL_USERNAME is set but KAFKA_SASL_PASSWORD is not")
        if self.kafka_sasl_mechanism not in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            raise SettingsError(f"KAFKA_SASL_MECHANISM={self.kafka_sasl_mechanism!r} is not PLAIN or SCRAM-SHA-256/512")

    def ack_base_url(self) -> str:
        """Where partners confirm receipt (the escalator's web port unless TRAILHOUND_ESCALATOR_URL says)."""
        return self.escalator_url or f"http://{self.bind_host}:{self.escalator_port}"

    def with_namespace(self, namespace: str) -> Settings:
        return replace(self, namespace=namespace)

    def topic(self, name: str) -> str:
        """The real Kafka topic name for a logical one (``posts.raw`` → ``<ns>.posts.raw``)."""
        return f"{self.namespace}.{name}" if self.namespace else name

    def consumer_group(self, reader: str = "") -> str:
        """The workers' Kafka consumer group: Faust's (the app's id), or that of one of the topic readers
        the worker runs beside it (``raw`` → ``trailhound-<ns>-raw``; :mod:`trailhound.streams.topic_batches`)."""
        group = f"trailhound-{self.namespace}" if self.namespace else "trailhound"
        return f"{group}-{reader}" if reader else group

    def index(self, name: str) -> str:
        """The real Elasticsearch index/alias for a logical one (``alerts`` → ``trailhound-alerts``)."""
        prefix = f"trailhound-{self.namespace}-" if self.namespace else "trailhound-"
        return prefix + name
