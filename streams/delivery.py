"""What happens to a record whose send fails after it was queued: it is dead-lettered, never just logged.

Why it exists: a Faust ``topic.send`` only queues the record; the broker may still refuse it (a record
over the topic's size limit, a lost leader after the retries) after the agent has moved on and the
input's offset has been committed. Faust then only logs the failure, and the post or alert is gone.
:func:`on_send_failure` watches the delivery future of each queued record and, if it fails, hands the
error to a callback — the agents dead-letter the *input* with the reason, so it can be replayed. The
callbacks run as tasks that are kept referenced until they finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["on_send_failure"]

log = logging.getLogger(__name__)

FailureHandler = Callable[[BaseException], Awaitable[None]]
_running: set[asyncio.Task[None]] = set()


def on_send_failure(delivery: asyncio.Future, handle: FailureHandler) -> None:
    """Run ``handle(error)`` if the queued record behind ``delivery`` is refused or never sent."""

    def done(future: asyncio.Future) -> None:
        error = asyncio.CancelledError("the send was cancelled") if future.cancelled() else future.exception()
        if error is None:
            return
        task = asyncio.ensure_future(_handle(handle, error))
        _running.add(task)
        task.add_done_callback(_running.discard)

    delivery.add_done_callback(done)


async def _handle(handle: FailureHandler, error: BaseException) -> None:
    try:
        await handle(error)
    except Exception:
        log.exception("a record whose send failed (%r) could not be dead-lettered either", error)
