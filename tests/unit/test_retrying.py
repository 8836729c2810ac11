"""How the worker waits out a failing dependency: short, growing pauses that never exceed the cap."""

from __future__ import annotations

import asyncio

import pytest

from trailhound.retrying import MAX_PAUSE_S, wait_out


class Flaky:
    """Fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


def run(flaky: Flaky, **options: object) -> tuple[str, list[float]]:
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    async def main() -> str:
        retrying = wait_out("test step", **options)  # type: ignore[arg-type]
        retrying.sleep = record
        async for attempt in retrying:
            with attempt:
                return flaky()
        raise AssertionError("unreachable")

    return asyncio.run(main()), pauses


def test_a_long_outage_is_retried_with_pauses_that_double_up_to_the_cap() -> None:
    answer, pauses = run(Flaky(12, ConnectionError("down")), first_s=0.5)
    assert answer == "answer"
    assert pauses[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(pauses) == MAX_PAUSE_S == 5.0
    assert len(pauses) == 12


def test_an_error_not_worth_waiting_for_is_raised_at_once() -> None:
    flaky = Flaky(3, ValueError("bad request"))
    with pytest.raises(ValueError):
        run(flaky, worth_waiting=lambda e: isinstance(e, ConnectionError))
    assert flaky.calls == 1


def test_with_a_limit_the_last_error_is_raised() -> None:
    flaky = Flaky(5, ConnectionError("down"))
    with pytest.raises(ConnectionError):
        run(flaky, attempts=3)
    assert flaky.calls == 3
