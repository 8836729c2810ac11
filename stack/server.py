"""What the manager needs from each local server, so it can run Kafka and Elasticsearch alike."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from trailhound.stack.addresses import Endpoint
from trailhound.stack.java import JavaRuntime

__all__ = ["LocalServer"]


class LocalServer(Protocol):
    """One server the stack can fetch, configure, start, probe and recognise as its own.

    ``marker`` is a string that appears on the command line of the server's processes and of no
    other (a path inside its run folder); it tells a live PID of ours from a recycled one.
    """

    name: str
    startup_timeout: float

    @property
    def endpoint(self) -> Endpoint: ...

    @property
    def run_dir(self) -> Path: ...

    @property
    def log_path(self) -> Path: ...

    @property
    def pid_path(self) -> Path: ...

    @property
    def marker(self) -> str: ...

    @property
    def extra_ports(self) -> dict[int, str]:
        """Other ports the server binds besides its endpoint, each with what it is for."""
        ...

    def healthy(self, timeout: float = 3.0) -> bool:
        """Whether whatever listens at the endpoint is this kind of server and ready."""
        ...

    def provision(self, java: JavaRuntime) -> None:
        """Fetch what is missing and write the configuration; safe to repeat."""
        ...

    def spawn(self, java: JavaRuntime) -> int:
        """Start the server detached and return the PID of its process-group leader."""
        ...
