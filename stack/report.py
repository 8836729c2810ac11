"""What the stack tells its caller: per server, its state, address, log and PID."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = ["ServerReport", "ServerState", "StackReport"]


class ServerState(StrEnum):
    """Where a server stands, from the point of view of this stack."""

    STARTED = "started"  # started by this call
    RUNNING = "running"  # started earlier by this stack and healthy
    EXTERNAL = "external"  # someone else's healthy server at the configured address
    STARTING = "starting"  # ours, alive, not answering yet (status only)
    UNHEALTHY = "unhealthy"  # something listens at the address but does not answer as it should
    STOPPED = "stopped"  # nothing there


@dataclass(frozen=True)
class ServerReport:
    """One server's line of the report; ``seconds`` is how long it took to become healthy."""

    name: str
    state: ServerState
    address: str
    log_path: Path | None = None
    pid: int | None = None
    seconds: float | None = None

    def __str__(self) -> str:
        parts = [f"{self.name:<14}{self.state.value:<10}{self.address}"]
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.seconds is not None:
            parts.append(f"ready in {self.seconds:.1f} s")
        if self.log_path is not None:
            parts.append(f"log {self.log_path}")
        return "  ".join(parts)


@dataclass(frozen=True)
class StackReport:
    """The state of every server of the stack, in a fixed order (Kafka, then Elasticsearch)."""

    servers: tuple[ServerReport, ...]

    def __getitem__(self, name: str) -> ServerReport:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    @property
    def kafka(self) -> ServerReport:
        return self["kafka"]

    @property
    def elasticsearch(self) -> ServerReport:
        return self["elasticsearch"]

    @property
    def all_up(self) -> bool:
        up = (ServerState.STARTED, ServerState.RUNNING, ServerState.EXTERNAL)
        return all(server.state in up for server in self.servers)

    def __str__(self) -> str:
        return "\n".join(str(server) for server in self.servers)
