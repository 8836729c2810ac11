"""Every tunable of Trailhound, read once from environment variables into one frozen object.

Operators configure a deployment only through the environment (see the table in the README), so the
same code runs on a laptop demo, in CI and on a partner's servers. Nothing else in the code base reads
``os.environ``; components receive the :class:`Settings` they need.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

__all__ = ["Settings", "SettingsError"]


T = TypeVar("T")

DEFAULT_MAX_POST_BYTES = 256 * 1024


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
    patterns_dir: Path | None = None
    linkage_retention_days: float = 14.0
    link_text_similarity: float = 0.6
    link_image_radius: int = 3
    hub_min_texts: int = 25
    circuit_min_cities: int = 3
    template_min_contacts: int = 3

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
            patterns_dir=Path(env["TRAILHOUND_PATTERNS_DIR"]) if env.get("TRAILHOUND_PATTERNS_DIR") else None,
            linkage_retention_days=_float(env, "TRAILHOUND_LINKAGE_RETENTION_DAYS", cls.linkage_retention_days),
            link_text_similarity=_float(env, "TRAILHOUND_LINK_TEXT_SIMILARITY", cls.link_text_similarity),
            link_image_radius=_int(env, "TRAILHOUND_LINK_IMAGE_RADIUS", cls.link_image_radius),
            hub_min_texts=_int(env, "TRAILHOUND_HUB_MIN_TEXTS", cls.hub_min_texts),
            circuit_min_cities=_int(env, "TRAILHOUND_CIRCUIT_MIN_CITIES", cls.circuit_min_cities),
            template_min_contacts=_int(env, "TRAILHOUND_TEMPLATE_MIN_CONTACTS", cls.template_min_contacts),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.partitions < 1:
            raise SettingsError("TRAILHOUND_PARTITIONS must be at least 1")
        if not 0.0 < self.alert_threshold <= 1.0:
            raise SettingsError("TRAILHOUND_ALERT_THRESHOLD must be in (0, 1]")
        if ":" not in self.kafka_bootstrap:
            raise SettingsError(f"KAFKA_BOOTSTRAP={self.kafka_bootstrap!r} must be host:port")
        if self.feedback_key and len(self.feedback_key) < 32:
            raise SettingsError("TRAILHOUND_FEEDBACK_KEY must be at least 32 characters")
        if not 0.0 < self.linkage_retention_days <= 14.0:
            raise SettingsError("TRAILHOUND_LINKAGE_RETENTION_DAYS must be in (0, 14]: linkage topics keep two weeks")
        if not 0.0 < self.link_text_similarity <= 1.0:
            raise SettingsError("TRAILHOUND_LINK_TEXT_SIMILARITY must be in (0, 1]")
        if not 0 <= self.link_image_radius <= 3:
            raise SettingsError("TRAILHOUND_LINK_IMAGE_RADIUS must be 0 to 3 bits (image keys are exact up to 3)")
        if min(self.hub_min_texts, self.circuit_min_cities, self.template_min_contacts) < 2:
            raise SettingsError("TRAILHOUND_HUB_MIN_TEXTS, _CIRCUIT_MIN_CITIES and _TEMPLATE_MIN_CONTACTS must be >= 2")
        if not self.elasticsearch_url.startswith(("http://", "https://")):
            raise SettingsError(f"ELASTICSEARCH_URL={self.elasticsearch_url!r} must start with http(s)://")

    def with_namespace(self, namespace: str) -> Settings:
        return replace(self, namespace=namespace)

    def topic(self, name: str) -> str:
        """The real Kafka topic name for a logical one (``posts.raw`` → ``<ns>.posts.raw``)."""
        return f"{self.namespace}.{name}" if self.namespace else name

    def index(self, name: str) -> str:
        """The real Elasticsearch index/alias for a logical one (``alerts`` → ``trailhound-alerts``)."""
        prefix = f"trailhound-{self.namespace}-" if self.namespace else "trailhound-"
        return prefix + name
