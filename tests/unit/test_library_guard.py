"""Finding 2 (pure part): a library that would silence alerting or hang a worker never goes live."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.shipped_patterns import shipped_library
from trailhound.config import Settings
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.library import LibraryError, PatternLibrary
from trailhound.detectors.library_guard import MIN_ACTIVE_HARM_PATTERNS, check_library
from trailhound.detectors.matcher import PatternMatcher
from trailhound.detectors.normalize import normalize
from trailhound.streams.pattern_updates import open_envelope, signed_envelope

SHIPPED = shipped_library()
HARM = {c.id for c in SHIPPED.categories.values() if not c.supporting}


def _wire() -> dict[str, Any]:
    wire = json.loads(json.dumps(SHIPPED.to_json()))
    del wire["version"]  # a changed library gets a new version
    return wire


def _with_active_harm(keep: int) -> PatternLibrary:
    """The shipped library with all but ``keep`` harm patterns weighted 0."""
    wire, kept = _wire(), 0
    for entry in wire["files"]:
        for pattern in entry["patterns"]:
            if entry["category"] in HARM and pattern["weight"] >= 0.3:
                kept += 1
                if kept > keep:
                    pattern["weight"] = 0.0
    return PatternLibrary.from_json(wire)


def _with_regex(expression: str) -> PatternLibrary:
    wire = _wire()
    wire["files"][0]["patterns"][0]["match"] = [{"regex": expression}]
    return PatternLibrary.from_json(wire)


def test_the_shipped_library_may_go_live() -> None:
    check_library(SHIPPED)


def test_a_library_with_every_weight_zero_is_refused_and_the_floor_is_exact() -> None:
    with pytest.raises(LibraryError, match="needs 20"):
        check_library(_with_active_harm(0))
    with pytest.raises(LibraryError, match=f"only {MIN_ACTIVE_HARM_PATTERNS - 1} patterns"):
        check_library(_with_active_harm(MIN_ACTIVE_HARM_PATTERNS - 1))
    check_library(_with_active_harm(MIN_ACTIVE_HARM_PATTERNS))


@pytest.mark.parametrize("expression", [r"(x+x+)+y", r"\b(\w+\s?)+$", r"(?:a|aa)+b", r"(?:a|b|ab)+xy"])
def test_an_expression_that_backtracks_catastrophically_is_refused_by_name(expression: str) -> None:
    library = _with_regex(expression)
    with pytest.raises(LibraryError, match="backtracks catastrophically") as refused:
        check_library(library)
    assert refused.value.pattern_id == library.patterns[0].id


def test_a_post_never_holds_the_matcher_longer_than_its_budget() -> None:
    matcher = PatternMatcher(_with_regex(r"(?:a|b|ab)+xy"), budget_s=0.05)  # as if the check had been skipped
    norm = normalize("ab" * 40 + "! then abxy. New girls, very young, my girls do not speak English")
    started = time.perf_counter()
    found = {i.pattern_id for i in matcher.match(norm, extract_entities(norm))}
    assert time.perf_counter() - started < 2.0  # unbounded, this search runs for hours
    assert matcher.over_budget >= 1
    assert found, "the patterns checked within the budget still count"


def test_only_libraries_signed_with_the_publisher_key_open(tmp_path) -> None:
    settings = Settings(cache_dir=tmp_path)
    value = signed_envelope(settings, SHIPPED, "analyst", 1.0)
    assert open_envelope(settings, value).version == SHIPPED.version
    envelope = json.loads(value)
    for forged in ({**envelope, "signature": "0" * 64}, {k: v for k, v in envelope.items() if k != "signature"},
                   {**envelope, "published_by": "mallory"}):
        with pytest.raises(LibraryError, match="signed"):
            open_envelope(settings, json.dumps(forged).encode())
    other_key = Settings(cache_dir=tmp_path / "elsewhere")
    with pytest.raises(LibraryError, match="signed"):
        open_envelope(other_key, value)
    silenced = signed_envelope(settings, _with_active_harm(0), "analyst", 2.0)
    with pytest.raises(LibraryError, match="needs 20"):
        open_envelope(settings, silenced)


def test_a_search_kept_waiting_by_a_busy_machine_still_counts() -> None:
    """The budget is CPU time: a wall-clock timeout with little CPU used is run again, not skipped."""
    matcher = PatternMatcher(_with_regex(r"abxy"), budget_s=0.05)
    calls: list[float] = []

    def preempted_once(text: str, timeout: float) -> str:
        calls.append(timeout)
        if len(calls) == 1:
            raise TimeoutError  # as if the thread had been waiting for a core the whole time
        return text

    deadline = time.thread_time() + matcher.budget_s
    assert matcher._bounded(deadline, preempted_once, "abxy") == "abxy"
    assert len(calls) == 2 and matcher.over_budget == 0


def test_a_search_that_spends_its_cpu_share_is_skipped_at_once() -> None:
    matcher = PatternMatcher(_with_regex(r"abxy"), budget_s=0.05)
    calls: list[float] = []

    def slow(text: str, timeout: float) -> str:
        calls.append(timeout)
        spin_until = time.thread_time() + timeout
        while time.thread_time() < spin_until:
            pass
        raise TimeoutError

    deadline = time.thread_time() + matcher.budget_s
    assert matcher._bounded(deadline, slow, "abxy") is None
    assert len(calls) == 1 and matcher.over_budget == 1
    assert calls[0] == pytest.approx(0.05 * 0.25, rel=0.2)  # one expression gets a quarter of the budget
