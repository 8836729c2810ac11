"""Where the local stack keeps things inside the cache folder.

Downloaded artifacts (``artifacts/``) are shared by every stack that uses the cache; each server
gets its own run folder keyed by its port (``run/kafka-9092/``), holding its configuration, data,
log and PID file. So a test stack on other ports can reuse the downloads without touching the
user's own servers or their data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trailhound.stack.versions import ELASTICSEARCH_VERSION, KAFKA_VERSION

__all__ = ["StackLayout"]


@dataclass(frozen=True)
class StackLayout:
    """Paths derived from ``Settings.cache_dir``; creating nothing by itself."""

    cache_dir: Path

    @property
    def artifacts(self) -> Path:
        return self.cache_dir / "artifacts"

    @property
    def kafka_lib(self) -> Path:
        return self.artifacts / f"kafka-{KAFKA_VERSION}" / "lib"

    @property
    def elasticsearch_home(self) -> Path:
        return self.artifacts / f"elasticsearch-{ELASTICSEARCH_VERSION}"

    @property
    def fetch_log(self) -> Path:
        return self.artifacts / "fetch.log"

    def run_dir(self, server: str, port: int) -> Path:
        return self.cache_dir / "run" / f"{server}-{port}"
