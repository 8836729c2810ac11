"""Where each server is expected, parsed from Settings, and whether the stack may run it here.

The stack only ever starts servers on the loopback interface. Any other address (several
bootstrap servers, a remote host, an ``https`` URL) belongs to someone else and is only checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Endpoint", "elasticsearch_endpoint", "kafka_endpoint"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Endpoint:
    """One server address; ``startable`` is False when only an external server can live there."""

    host: str
    port: int
    startable: bool
    display: str

    @property
    def bind_host(self) -> str:
        """The address a locally started server listens on."""
        return "127.0.0.1" if self.host == "localhost" else self.host


def kafka_endpoint(bootstrap: str) -> Endpoint:
    """The first bootstrap server; several servers always mean an external cluster."""
    servers = [part.strip() for part in bootstrap.split(",") if part.strip()]
    host, _, port = servers[0].rpartition(":")
    host = host.strip("[]")
    startable = len(servers) == 1 and host in _LOOPBACK
    return Endpoint(host=host, port=int(port), startable=startable, display=",".join(servers))


def elasticsearch_endpoint(url: str) -> Endpoint:
    """The HTTP endpoint; credentials are dropped from ``display`` so they never reach a log."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 9200)
    startable = parts.scheme == "http" and host in _LOOPBACK and parts.username is None
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Endpoint(host=host, port=port, startable=startable, display=f"{parts.scheme}://{netloc}")
