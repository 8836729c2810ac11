"""Asks each server whether it is ready for Trailhound, the way Trailhound will use it.

Kafka is ready when a broker answers a metadata request and lists itself (kafka-python's admin
client, already a project dependency, speaks the protocol for us). Elasticsearch is ready when
``/_cluster/health`` reports at least yellow and the reply says it comes from Elasticsearch, so
an unrelated web server on port 9200 is not mistaken for one. A bare TCP probe comes first
because it is cheap and avoids the clients' noisy retry logs while a server is still booting.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

import httpx
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

__all__ = ["elasticsearch_ready", "kafka_ready", "port_open"]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def kafka_ready(bootstrap: str, timeout: float = 3.0) -> bool:
    """Whether the cluster at ``bootstrap`` answers metadata requests with at least one broker."""
    millis = max(int(timeout * 1000), 500)
    admin = None
    with _quiet("kafka"):
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=millis,
                                     api_version_auto_timeout_ms=millis, client_id="trailhound-stack")
            cluster = admin.describe_cluster()
            return bool(cluster.get("brokers"))
        except (KafkaError, OSError, ValueError):
            return False
        finally:
            if admin is not None:
                with suppress(Exception):
                    admin.close()


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urlsplit(url)
    if parts.username is None:
        return url.rstrip("/"), None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    return bare, (parts.username, parts.password or "")


def elasticsearch_ready(url: str, timeout: float = 3.0) -> bool:
    """Whether Elasticsearch at ``url`` (credentials allowed in it) reports yellow or green."""
    base, auth = _split_credentials(url)
    wait = max(int(timeout) - 1, 1)
    try:
        response = httpx.get(f"{base}/_cluster/health",
                             params={"wait_for_status": "yellow", "timeout": f"{wait}s"},
                             auth=auth, timeout=timeout + 1)
    except httpx.HTTPError:
        return False
    if response.status_code != 200 or response.headers.get("x-elastic-product") != "Elasticsearch":
        return False
    try:
        return response.json().get("status") in ("green", "yellow")
    except ValueError:
        return False
