"""One way to wait out a failing dependency: exponential back-off and a log line per retry.

The worker never drops data because Elasticsearch or Kafka is away; it stalls and says why. tenacity
provides the retry loop (a well-kept library, so no hand-written sleep loops); this module only fixes how
Trailhound uses it, so every wait looks the same in the logs. Cancellation and interpreter exit are never
retried, only errors.

The pause doubles up to :data:`MAX_PAUSE_S` (5 s), not longer: a failed attempt against a local server
costs a millisecond, while a long pause is time the stream stays stalled after the server is back. With
several stages each waiting out the same outage, 30 s pauses added up to a minute of silence after
Elasticsearch returned; 5 s bounds each stage's catch-up at the price of one log line per 5 s per stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_never,
    wait_exponential,
)
from tenacity.stop import stop_base

__all__ = ["MAX_PAUSE_S", "wait_out", "wait_out_blocking"]

MAX_PAUSE_S = 5.0

log = logging.getLogger(__name__)

ErrorFilter = Callable[[BaseException], bool]


def _any_error(_: BaseException) -> bool:
    return True


def _settings(what: str, worth_waiting: ErrorFilter, first_s: float, max_s: float,
              stop: stop_base) -> dict[str, object]:
    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s failed (%r); retrying", what, error)

    return {"retry": retry_if_exception(lambda e: isinstance(e, Exception) and worth_waiting(e)),
            "wait": wait_exponential(multiplier=first_s, max=max_s), "stop": stop, "before_sleep": report,
            "reraise": True}


def wait_out(what: str, worth_waiting: ErrorFilter = _any_error, first_s: float = 0.5, max_s: float = MAX_PAUSE_S,
             attempts: int | None = None) -> AsyncRetrying:
    """Retry while ``worth_waiting(error)``, pausing ``first_s`` doubling up to ``max_s``, forever or for
    ``attempts`` tries; other errors (and the last one) raise."""
    stop = stop_after_attempt(attempts) if attempts else stop_never
    return AsyncRetrying(**_settings(what, worth_waiting, first_s, max_s, stop))  # type: ignore[arg-type]


def wait_out_blocking(what: str, worth_waiting: ErrorFilter = _any_error, first_s: float = 0.5,
                      max_s: float = MAX_PAUSE_S, give_up_after_s: float | None = None) -> Retrying:
    """:func:`wait_out` for synchronous start-up code, optionally giving up after ``give_up_after_s``."""
    stop = stop_after_delay(give_up_after_s) if give_up_after_s else stop_never
    return Retrying(**_settings(what, worth_waiting, first_s, max_s, stop))  # type: ignore[arg-type]
