"""The files a local single-node Kafka runs from, as pure functions of the Settings.

One process is both broker and controller (KRaft), listening on loopback only: the broker on the
port of ``KAFKA_BOOTSTRAP`` and the controller on the next port. Every internal topic is set to
one replica, consumer groups start without the usual 3 s wait, and topics are never created
implicitly: Trailhound creates its own topics with the partition counts and cleanup policies
(``compact`` for patterns) it needs, and a typo in a topic name should fail loudly.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from trailhound.config import Settings
from trailhound.stack.addresses import kafka_endpoint
from trailhound.stack.java import heap_flags

__all__ = ["controller_port", "kafka_jvm_options", "kafka_log4j2_properties", "kafka_server_properties",
           "new_cluster_id"]


def controller_port(broker_port: int) -> int:
    return broker_port + 1


def new_cluster_id() -> str:
    """A random KRaft cluster id in Kafka's format (URL-safe base64 of 16 bytes, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like command-line flags
            return text


def kafka_server_properties(settings: Settings, data_dir: Path) -> str:
    """``server.properties`` for a combined broker+controller at ``settings.kafka_bootstrap``."""
    endpoint = kafka_endpoint(settings.kafka_bootstrap)
    host, port = endpoint.bind_host, endpoint.port
    control = controller_port(port)
    values = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{control}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{control}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(settings.partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.cleaner.enable": "true",
    }
    header = "# Written by Trailhound's local stack (stack/kafka_config.py); rewritten at every start.\n"
    return header + "".join(f"{key}={value}\n" for key, value in values.items())


def kafka_log4j2_properties() -> str:
    """Log4j 2 configuration: INFO to stdout (captured into the run folder's log), request log quiet."""
    return "\n".join([
        "status = warn",
        "appender.out.type = Console",
        "appender.out.name = out",
        "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = %d{ISO8601} %-5p [%c{1}] %m%n",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.out.ref = out",
        "logger.requests.name = kafka.request.logger",
        "logger.requests.level = WARN",
        "",
    ])


def kafka_jvm_options(settings: Settings, log4j2_path: Path) -> list[str]:
    """JVM flags: the configured heap, G1 with short pauses (as Kafka's own scripts choose)."""
    return [
        *heap_flags(settings.kafka_heap, "TRAILHOUND_KAFKA_HEAP"),
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j2_path}",
    ]
