"""Brings the local Kafka and Elasticsearch up, reports on them and takes them down again.

This is the one entry point the CLI and the test fixtures use. ``up`` is idempotent: a server this
stack already runs is reused, a healthy server someone else runs at the configured address is used
as it is, and only what is missing is fetched and started. Both servers boot in parallel. If one
cannot start, whatever this call started is stopped again before :class:`StackError` is raised, so
a failed ``up`` leaves the machine as it found it.

Example (needs Java, Maven and network access the first time)::

    from trailhound.stack import manager
    from trailhound.config import Settings

    settings = Settings.from_env()
    print(manager.up(settings))     # kafka  started  127.0.0.1:9092  pid 4242  ready in 9.8 s ...
    manager.down(settings)
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from trailhound.config import Settings
from trailhound.stack.elasticsearch import ElasticsearchServer
from trailhound.stack.errors import StackError
from trailhound.stack.fetch import file_lock
from trailhound.stack.health import port_open
from trailhound.stack.java import JavaRuntime, find_java
from trailhound.stack.kafka import KafkaServer
from trailhound.stack.layout import StackLayout
from trailhound.stack.processes import group_alive, owned_pid, remove_pid, stop_group, write_pid
from trailhound.stack.report import ServerReport, ServerState, StackReport
from trailhound.stack.server import LocalServer

__all__ = ["SERVER_NAMES", "ServerReport", "ServerState", "StackError", "StackReport", "down", "status", "up"]

SERVER_NAMES = ("kafka", "elasticsearch")
_POLL_SECONDS = 0.25
_MAX_STARTUP_SECONDS = 900.0  # even a server whose log keeps moving is given up on after this


def _servers(settings: Settings, only: Iterable[str] | None = None) -> list[LocalServer]:
    wanted = set(SERVER_NAMES if only is None else only)
    unknown = wanted - set(SERVER_NAMES)
    if unknown:
        raise ValueError(f"unknown server(s) {sorted(unknown)}; choose from {list(SERVER_NAMES)}")
    layout = StackLayout(settings.cache_dir)
    servers: list[LocalServer] = [KafkaServer(settings, layout), ElasticsearchServer(settings, layout)]
    return [server for server in servers if server.name in wanted]


def _java(server: LocalServer) -> JavaRuntime:
    found = find_java()
    if isinstance(found, str):
        raise StackError(server.name, server.endpoint.display, found)
    return found


@dataclass
class _Pending:
    """A server of ours that has been started (now or by someone else) but is not healthy yet.

    A server that is still loading (Kafka recovering thousands of partitions, Elasticsearch opening its
    shards) keeps writing its log, so the start-up timeout counts from the log's last growth, not from
    the start: a slow but busy start is waited for, a hung one is reported.
    """

    server: LocalServer
    pid: int
    state: ServerState
    since: float
    log_size: int = -1
    progressed: float = 0.0

    def stalled_for(self, now: float) -> float:
        """Seconds since the server last wrote to its log (or since it was started, if later)."""
        try:
            size = self.server.log_path.stat().st_size
        except OSError:
            size = -1
        if size != self.log_size:
            self.log_size, self.progressed = size, now
        return now - max(self.progressed, self.since)


def _report(server: LocalServer, state: ServerState, pid: int | None = None,
            seconds: float | None = None) -> ServerReport:
    log = None if state is ServerState.EXTERNAL else server.log_path
    return ServerReport(server.name, state, server.endpoint.display, log, pid, seconds)


def _begin(server: LocalServer) -> ServerReport | _Pending:
    """Decide what to do with one server and, if it is missing, start it (without waiting)."""
    endpoint = server.endpoint
    if not endpoint.startable:
        if server.healthy():
            return _report(server, ServerState.EXTERNAL)
        raise StackError(server.name, endpoint.display,
                         "no healthy server answers there, and the local stack only starts servers on "
                         "127.0.0.1 (Elasticsearch: plain http, no credentials in the URL)")
    with file_lock(server.run_dir / ".lock"):
        pid = owned_pid(server.pid_path, server.marker)
        if pid is not None:
            return _Pending(server, pid, ServerState.RUNNING, time.monotonic())
        remove_pid(server.pid_path)
        if port_open(endpoint.host, endpoint.port):
            if server.healthy():
                return _report(server, ServerState.EXTERNAL)
            raise StackError(server.name, endpoint.display,
                             f"port {endpoint.port} is taken by something that does not answer as "
                             f"{server.name}; stop it or configure another port")
        for port, purpose in server.extra_ports.items():
            if port_open(endpoint.bind_host, port):
                raise StackError(server.name, endpoint.display,
                                 f"port {port}, which {server.name} needs for {purpose}, is taken; "
                                 "free it or configure another port")
        java = _java(server)
        server.provision(java)
        since = time.monotonic()
        pid = server.spawn(java)
        write_pid(server.pid_path, pid)
        return _Pending(server, pid, ServerState.STARTED, since)


def _wait(pending: list[_Pending]) -> dict[str, ServerReport]:
    """Poll every pending server until healthy; raise on the first that dies or times out."""
    done: dict[str, ServerReport] = {}
    waiting = list(pending)
    while waiting:
        for item in list(waiting):
            server = item.server
            if server.healthy(timeout=2.0):
                seconds = time.monotonic() - item.since if item.state is ServerState.STARTED else None
                done[server.name] = _report(server, item.state, item.pid, seconds)
                waiting.remove(item)
            elif not group_alive(item.pid):
                remove_pid(server.pid_path)
                raise StackError(server.name, server.endpoint.display, "the server exited during start-up",
                                 server.log_path)
            elif item.stalled_for(time.monotonic()) > server.startup_timeout:
                raise StackError(server.name, server.endpoint.display,
                                 f"not healthy, and its log silent for {server.startup_timeout:.0f} s",
                                 server.log_path)
            elif time.monotonic() - item.since > _MAX_STARTUP_SECONDS:
                raise StackError(server.name, server.endpoint.display,
                                 f"not healthy after {_MAX_STARTUP_SECONDS:.0f} s", server.log_path)
        if waiting:
            time.sleep(_POLL_SECONDS)
    return done


def _stop(server: LocalServer) -> None:
    pid = owned_pid(server.pid_path, server.marker)
    if pid is not None:
        stop_group(pid)
    remove_pid(server.pid_path)


def up(settings: Settings) -> StackReport:
    """Make sure Kafka and Elasticsearch answer at the configured addresses, starting what is missing.

    Raises :class:`StackError` (naming the server, its address and quoting its log) when a server
    cannot be fetched, started or reached; servers started by this call are stopped again first.
    """
    servers = _servers(settings)
    reports: dict[str, ServerReport] = {}
    pending: list[_Pending] = []
    try:
        for server in servers:
            outcome = _begin(server)
            if isinstance(outcome, _Pending):
                pending.append(outcome)
            else:
                reports[server.name] = outcome
        reports.update(_wait(pending))
    except BaseException:
        for item in pending:
            if item.state is ServerState.STARTED:
                _stop(item.server)
        raise
    return StackReport(tuple(reports[server.name] for server in servers))


def down(settings: Settings, only: Iterable[str] | None = None) -> None:
    """Stop the servers this stack started (all, or those named in ``only``) and remove their PID files.

    External servers are left alone. Each server gets SIGTERM, then SIGKILL after 30 s.
    """
    servers = _servers(settings, only)
    with ThreadPoolExecutor(max_workers=len(servers) or 1) as pool:
        list(pool.map(_stop, servers))


def _state(server: LocalServer) -> ServerReport:
    pid = owned_pid(server.pid_path, server.marker)
    if pid is not None:
        state = ServerState.RUNNING if server.healthy() else ServerState.STARTING
        return _report(server, state, pid)
    endpoint = server.endpoint
    if server.healthy():
        return _report(server, ServerState.EXTERNAL)
    if port_open(endpoint.host, endpoint.port):
        return _report(server, ServerState.UNHEALTHY)
    return _report(server, ServerState.STOPPED)


def status(settings: Settings) -> StackReport:
    """The current state of each server, without starting or stopping anything."""
    return StackReport(tuple(_state(server) for server in _servers(settings)))
