"""A partner's webhook receiver in a process of its own, for the escalation bench.

A partner's server is not part of Trailhound: in production it runs on the partner's machines. When the
slow partner's receiver shared the bench's process, its work (hundreds of open requests, then twenty
answers a second with their signature checks) ran on the same event loop that records the fast
partner's receipts, so the bench charged the slow partner's server to the escalator; the fast partner's
receiver, in turn, answered behind the bench's recording stage. Here each receiver
(:class:`tests.partners.WebhookReceiver`, unchanged: it verifies every signature and idempotency key)
runs in a child process; the bench asks it over a pipe how many alerts it processed, and takes its
records when it stops.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


async def _serve(conn: Connection, secret: bytes, delay_s: float) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.partners import WebhookReceiver

    receiver = await WebhookReceiver(secret, delay_s=delay_s).start()
    conn.send(receiver.port)
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "count":
            conn.send(len(receiver.processed))
        elif command == "clear":
            receiver.processed.clear()
            receiver.requests.clear()
            conn.send(None)
        elif command == "stop":
            await receiver.stop()
            conn.send((receiver.processed, receiver.requests, receiver.refused))
            return


def _main(conn: Connection, secret: bytes, delay_s: float) -> None:
    asyncio.run(_serve(conn, secret, delay_s))


class RemoteReceiver:
    """A :class:`tests.partners.WebhookReceiver` in a child process; ``processed``, ``requests`` and
    ``refused`` are filled in by :meth:`stop`."""

    def __init__(self, secret: bytes, delay_s: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_main, args=(child, secret, delay_s), daemon=True)
        self.port = 0
        self.processed: dict[str, Any] = {}
        self.requests: Counter[str] = Counter()
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    async def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    async def start(self) -> RemoteReceiver:
        self._process.start()
        self.port = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        return self

    async def count(self) -> int:
        """Alerts processed so far."""
        return int(await self._ask("count"))

    async def clear(self) -> None:
        await self._ask("clear")

    async def stop(self) -> None:
        if self._process.is_alive():
            self.processed, self.requests, self.refused = await self._ask("stop")
        self._process.join(timeout=10)
