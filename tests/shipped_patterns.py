"""The shipped pattern library, read and compiled at most once per test process.

Reading the library's YAML and compiling it (Hyperscan databases and the confirming expressions) costs
seconds of CPU each time. Test modules used to do both at import, so every pytest-xdist process paid for
every module while it merely collected the tests, and each module paid again for its own copy. Modules
that only read the shipped library now share the one loaded here, and compile it on first use in a test.
Tests that change a library or a matcher still build their own.
"""

from __future__ import annotations

from functools import cache

from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.detectors.matcher import PatternMatcher


@cache
def shipped_library() -> PatternLibrary:
    """The library workers start with (``detectors/patterns``); frozen, so safe to share."""
    return PatternLibrary.load(BUNDLED_PATTERNS)


@cache
def shipped_matcher() -> PatternMatcher:
    """The shipped library compiled, for tests that only match with it."""
    return PatternMatcher(shipped_library())
