"""What a pattern library must satisfy before it goes live, beyond being well formed.

Why it exists: whoever can write to the ``patterns`` topic could otherwise switch alerting off (every
weight set to 0) or hang the workers (an expression whose matching time explodes on crafted input,
like ``(?:a|b|ab)*c``). Libraries are signed (:mod:`streams.pattern_updates`), but a mistaken one
from a legitimate publisher does the same harm, so every library is also held to:

* **a floor of active harm patterns**: at least ``MIN_ACTIVE_HARM_PATTERNS`` patterns in alerting
  (non-supporting) categories with a weight of at least ``ACTIVE_WEIGHT``;
* **no pathological expression**: each regular expression is run against probes built from its own
  words repeated (``abab…!``, ``aaaa…!``) and then the words once more, where catastrophic
  backtracking shows; one that needs
  longer than the per-post match budget on a probe is refused and named.

The matcher also enforces the budget on every post (see :class:`~detectors.matcher.PatternMatcher`),
so an expression the probes miss costs at most the budget. The ``regex`` package runs the probes
because, unlike the standard ``re``, it can stop a search after a timeout.
"""

from __future__ import annotations

import regex

from trailhound.detectors.library import LibraryError, Pattern, PatternLibrary

__all__ = ["ACTIVE_WEIGHT", "DEFAULT_MATCH_BUDGET_S", "MIN_ACTIVE_HARM_PATTERNS", "check_library", "compile_bounded"]

ACTIVE_WEIGHT = 0.3
MIN_ACTIVE_HARM_PATTERNS = 20
DEFAULT_MATCH_BUDGET_S = 0.05
PROBE_CHARS = 2000
MAX_PROBE_WORDS = 12
_ESCAPES = {"d": "7", "w": "a", "s": " "}
_ESCAPE = regex.compile(r"\\(.)")
_WORD = regex.compile(r"[a-z0-9]+")


def compile_bounded(expression: str) -> regex.Pattern[str]:
    """An expression compiled the way the matcher confirms it (ASCII, case-insensitive, ``re`` semantics)."""
    return regex.compile(expression, regex.ASCII | regex.IGNORECASE | regex.V0)


def check_library(library: PatternLibrary, budget_s: float = DEFAULT_MATCH_BUDGET_S) -> None:
    """Raise :class:`LibraryError` if the library would silence alerting or hang a worker."""
    _check_active_harm(library)
    for pattern in library.patterns:
        for expression in _expressions(pattern):
            _check_expression(pattern, expression, budget_s)


def _check_active_harm(library: PatternLibrary) -> None:
    supporting = {c.id for c in library.categories.values() if c.supporting}
    active = [p for p in library.patterns if p.category not in supporting and p.weight >= ACTIVE_WEIGHT]
    if len(active) < MIN_ACTIVE_HARM_PATTERNS:
        raise LibraryError(f"only {len(active)} patterns of youth, coercion, control or labour exploitation weigh "
                           f"at least {ACTIVE_WEIGHT}; a library needs {MIN_ACTIVE_HARM_PATTERNS} to go live")


def _expressions(pattern: Pattern) -> list[str]:
    out = []
    for form in pattern.forms:
        if form.kind == "regex":
            out.append(form.text)
        elif form.kind == "near" and form.near is not None:
            out.extend((form.near.a, form.near.b))
    return out


def probes(expression: str) -> list[str]:
    """Texts built from the expression's own words, repeated to ``PROBE_CHARS``, then a mismatch and the words."""
    plain = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), " "), expression.lower())
    words = list(dict.fromkeys(_WORD.findall(plain)))[:MAX_PROBE_WORDS] or ["a"]
    units = words + [a + b for a, b in zip(words, words[1:], strict=False)] + [f"{w} " for w in words]
    tail = "\x00! " + " ".join(words)  # the words again after the mismatch, so a required-text shortcut cannot skip
    return [(unit * (PROBE_CHARS // len(unit) + 1))[:PROBE_CHARS] + tail for unit in units]


def _check_expression(pattern: Pattern, expression: str, budget_s: float) -> None:
    compiled = compile_bounded(expression)
    for probe in probes(expression):
        try:
            compiled.search(probe, timeout=budget_s)
        except TimeoutError:
            raise LibraryError(f"expression {expression!r} needs more than {budget_s * 1000:.0f} ms on "
                               f"{probe[:12]!r}…: it backtracks catastrophically; rewrite it",
                               file=pattern.file, pattern_id=pattern.id) from None
