"""One way to wait out a failing dependency: exponential back-off, no give-up, and a log line per retry.

The worker never drops data because Elasticsearch is away; it stalls and says why. tenacity provides the
retry loop; this module only fixes how Trailhound uses it, so every such wait looks the same in the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

__all__ = ["wait_out"]

log = logging.getLogger(__name__)


def _always(_: BaseException) -> bool:
    return True


def wait_out(what: str, worth_waiting: Callable[[BaseException], bool] = _always, first_s: float = 0.5,
             max_s: float = 30.0) -> AsyncRetrying:
    """Retry while ``worth_waiting(error)``, pausing ``first_s`` doubling up to ``max_s``; other errors raise."""

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s failed (%r); retrying", what, error)

    return AsyncRetrying(retry=retry_if_exception(worth_waiting), wait=wait_exponential(multiplier=first_s, max=max_s),
                         before_sleep=report, reraise=True)
