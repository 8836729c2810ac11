"""Runs Kafka from the jars in the cache: configuration, one-time storage format, launch.

The broker is started straight from its jars (``java -cp lib/* kafka.Kafka``) rather than through
the release tarball's shell scripts, which the Maven artifacts do not include.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from trailhound.config import Settings
from trailhound.stack.addresses import Endpoint, kafka_endpoint
from trailhound.stack.errors import StackError
from trailhound.stack.fetch import ensure_kafka
from trailhound.stack.health import kafka_ready, port_open
from trailhound.stack.java import JavaRuntime
from trailhound.stack.kafka_config import (
    controller_port,
    kafka_jvm_options,
    kafka_log4j2_properties,
    kafka_server_properties,
    new_cluster_id,
)
from trailhound.stack.layout import StackLayout
from trailhound.stack.processes import spawn_detached

__all__ = ["KafkaServer"]

_FORMAT_TIMEOUT = 120.0


@dataclass(frozen=True)
class KafkaServer:
    """The local Kafka for ``settings.kafka_bootstrap``, with its files under the cache."""

    settings: Settings
    layout: StackLayout
    name: str = "kafka"
    startup_timeout: float = 60.0

    @property
    def endpoint(self) -> Endpoint:
        return kafka_endpoint(self.settings.kafka_bootstrap)

    @property
    def run_dir(self) -> Path:
        return self.layout.run_dir(self.name, self.endpoint.port)

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kafka.log"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / "kafka.pid"

    @property
    def properties_path(self) -> Path:
        return self.run_dir / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def marker(self) -> str:
        return str(self.properties_path)

    @property
    def extra_ports(self) -> dict[int, str]:
        return {controller_port(self.endpoint.port): "its KRaft controller"}

    def healthy(self, timeout: float = 3.0) -> bool:
        endpoint = self.endpoint
        if endpoint.startable and not port_open(endpoint.host, endpoint.port):
            return False
        return kafka_ready(self.settings.kafka_bootstrap, timeout)

    def _java_command(self, java: JavaRuntime, main: str, *args: str) -> list[str]:
        log4j2 = self.run_dir / "log4j2.properties"
        try:
            options = kafka_jvm_options(self.settings, log4j2)
        except ValueError as exc:
            raise StackError(self.name, self.endpoint.display, str(exc)) from None
        return [str(java.executable), *options, "-cp", f"{self.layout.kafka_lib}/*", main, *args]

    def provision(self, java: JavaRuntime) -> None:
        ensure_kafka(self.layout)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(kafka_server_properties(self.settings, self.data_dir))
        (self.run_dir / "log4j2.properties").write_text(kafka_log4j2_properties())
        if not (self.data_dir / "meta.properties").is_file():
            self._format(java)

    def _format(self, java: JavaRuntime) -> None:
        """Write the KRaft metadata log's bootstrap files; done once per data folder."""
        command = self._java_command(java, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(),
                                     "-c", str(self.properties_path))
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n=== formatting storage: {' '.join(command)}\n")
            log.flush()
            try:
                result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=_FORMAT_TIMEOUT,
                                        stdin=subprocess.DEVNULL, check=False)
            except subprocess.TimeoutExpired:
                raise StackError(self.name, self.endpoint.display, "formatting the storage timed out",
                                 self.log_path) from None
        if result.returncode != 0:
            raise StackError(self.name, self.endpoint.display,
                             f"formatting the storage failed (exit code {result.returncode})", self.log_path)

    def spawn(self, java: JavaRuntime) -> int:
        command = self._java_command(java, "kafka.Kafka", str(self.properties_path))
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.run_dir)}
        return spawn_detached(command, cwd=self.run_dir, env=env, log_path=self.log_path)
