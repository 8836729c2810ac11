"""An HTTP proxy in front of the real Elasticsearch that answers chosen requests with an error instead.

Tests use it to make the real server refuse a request in ways it cannot be asked to (413, a whole
request 400, 401 while credentials are rotated); everything else is forwarded unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

Match = Callable[[str, bytes], bool]


@dataclass
class Fault:
    """Answer requests for which ``match(path, body)`` holds with ``status``, ``times`` times (-1: always)."""

    match: Match
    status: int
    times: int = -1
    hits: int = 0


class FaultProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.faults: list[Fault] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> FaultProxy:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        for fault in self.faults:
            if fault.times != 0 and fault.match(request.path, body):
                fault.times -= 1 if fault.times > 0 else 0
                fault.hits += 1
                return web.json_response({"error": {"type": "injected", "reason": f"injected {fault.status}"},
                                          "status": fault.status}, status=fault.status,
                                         headers={"X-Elastic-Product": "Elasticsearch"})
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(request.method, self.target + request.path_qs, data=body,
                                         headers=headers) as upstream:
            payload = await upstream.read()
            keep = {k: v for k, v in upstream.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection")}
            return web.Response(body=payload, status=upstream.status, headers=keep)


class ThreadedFaultProxy:
    """A :class:`FaultProxy` on its own event loop in a thread, for tests that drive real worker processes."""

    def __init__(self, target: str) -> None:
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = asyncio.run_coroutine_threadsafe(FaultProxy(target).start(), self._loop).result(30)

    @property
    def url(self) -> str:
        return self.proxy.url

    def add(self, fault: Fault) -> Fault:
        self._loop.call_soon_threadsafe(self.proxy.faults.append, fault)
        return fault

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
