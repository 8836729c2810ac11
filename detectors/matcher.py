"""Match a whole pattern library against a post in one pass, and turn the hits into a detection.

Why Hyperscan: the library grows to thousands of phrases and regexes, and a loop of ``re.search``
calls costs time in proportion to the library size for every post. Hyperscan (Intel's multi-pattern
regex engine, via the ``hyperscan`` package) compiles every literal and regex into one database and
scans a post once, whatever the number of patterns. We measured it against ``pyahocorasick`` plus a
regex stage (``bench/patterns.py``): Aho-Corasick only handles literals, so every regex still needs its
own scan; at 5,000 patterns that design cost about 6 ms per post against about 10 µs for Hyperscan.
The compiled database is not thread-safe (one scratch space): use one matcher per thread.

Hyperscan only tells us *which* expressions matched (single-match mode, the cheapest). For the few
patterns that did, a small confirmation stage runs the same expression with the ``regex`` package to get the
exact span, which is mapped back to the original text for the analyst. Expressions Hyperscan cannot
compile exactly (look-arounds, back-references) are compiled in its *prefilter* mode, a superset,
and the confirmation stage makes them exact. The confirmation uses the ``regex`` package rather
than ``re`` because it can stop a search at a deadline: each post has a match time budget.
Proximity and entity rules (an age of at most 17, an obscured phone number) are evaluated in Python
on the already-extracted entities.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import hyperscan
import regex

from trailhound.detectors.base import Detection, Indicator
from trailhound.detectors.decoded import decoded_entities, decoded_normalized
from trailhound.detectors.extract import Entities, Mention, extract_entities
from trailhound.detectors.library import EntityRule, ExampleFailure, LibraryError, Pattern, PatternLibrary
from trailhound.detectors.library_guard import DEFAULT_MATCH_BUDGET_S, compile_bounded
from trailhound.detectors.normalize import NormalizedText, normalize
from trailhound.detectors.pattern_score import combine_evidence
from trailhound.schemas import post_text

__all__ = ["PatternDetector", "PatternMatcher", "compile_engine", "enriched_view", "literal_regex"]

T = TypeVar("T")
_EXPRESSION_SHARE = 0.25  # one expression may use a quarter of a post's match budget, the others keep the rest
_SPENT_SHARE = 0.5  # a timed-out search that used at least half its CPU share really was slow on this text
_PREEMPTED_RETRIES = 3  # runs again of a search that timed out only because the machine was busy
_BASE_FLAGS = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_CASELESS
_WORD_GAP = r"[^a-z0-9]{1,3}"
_MAX_COUNT_EVIDENCE = 160
_NEEDS_PREFILTER = re.compile(r"\(\?<?[=!]|\\[1-9]")  # look-arounds and back-references
TOLERANT_MIN_LETTERS = 7
_SELF_NEGATIVE = re.compile(
    r"(?:no|not|never|without|cannot|can't|sin|sem|sans|fara|walang|hindi|khong)\b|без|не\s|不|没有|ไม่"
)
_APPROX_FLAGS = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS
# A hit right after one of these words is negated or says the worker keeps control ("no placement
# fee", "we never hold documents", "you keep your passport", "sin costo", "不收", "ไม่มี").
_NEGATED = re.compile(
    r"(?:\b(?:no|not|never|nor|without|don't|dont|won't|zero|free of|sin|nunca|ni|sem|nao|nem|nenhuma?|aucune?|"
    r"sans|jamais|pas de|walang|hindi|fara|nici|khong|usted conserva|you keep|you hold|you own|voce fica com|"
    r"vous gardez|ramane la|hawak mo)[^\w.!?;/\n]{1,3}(?:\w+[^\w.!?;/\n]{1,3})?|(?:без|не|нет|никогда)\s(?:\w+\s)?|"
    r"不|没有|无|ไม่มี|ไม่)$"
)


def literal_regex(phrase: str) -> str:
    """A literal phrase as a regex over normalised text: folded like posts, whole words, loose gaps."""
    folded = normalize(phrase).text.strip()
    if not folded:
        raise ValueError(f"literal {phrase!r} is empty after normalisation")
    words = folded.split(" ")
    body = _WORD_GAP.join(re.escape(w) for w in words)
    # Word boundaries only around ASCII letters and digits: the engines' \b is ASCII, so it would never
    # match next to a Cyrillic, Thai or Han character (and Chinese and Thai do not space words anyway).
    left = r"\b" if folded[0].isascii() and folded[0].isalnum() else ""
    right = r"\b" if folded[-1].isascii() and folded[-1].isalnum() else ""
    return f"{left}{body}{right}"


def tolerant_literal(phrase: str) -> str | None:
    """The form of a literal phrase matched with one edit of slack (``barley legal``, ``pasport``).

    Only ASCII phrases of at least :data:`TOLERANT_MIN_LETTERS` letters qualify: shorter words are a
    typo away from other words. Hyperscan's approximate mode refuses word boundaries, so the
    confirmation stage checks that the hit starts and ends on word edges.
    """
    folded = normalize(phrase).text.strip()
    if not folded.isascii() or sum(c.isalpha() for c in folded) < TOLERANT_MIN_LETTERS:
        return None
    return " ".join(re.escape(w) for w in folded.split(" "))


@dataclass(frozen=True, slots=True)
class _Expr:
    pattern: int  # index into library.patterns
    form: int  # index into pattern.forms
    side: str  # "" for literal/regex/emoji, "a"/"b" for a near rule
    regex: str


@dataclass
class _Engine:
    """The compiled database, its expressions, and their confirmation regexes."""

    database: hyperscan.Database | None  # None for a library with no text expressions
    exprs: list[_Expr]
    confirm: list[regex.Pattern[str]]
    entity_rules: list[tuple[int, EntityRule, str | None]]  # (pattern index, rule, mention kind it needs)
    near_rules: dict[tuple[int, int], tuple[regex.Pattern[str], regex.Pattern[str], int]]
    approx: hyperscan.Database | None = None  # literal forms with one edit of slack
    approx_patterns: tuple[tuple[int, int], ...] = ()  # (pattern index, letters) per approximate id


def _expressions(library: PatternLibrary) -> tuple[list[_Expr], list[tuple[int, int]]]:
    exprs: list[_Expr] = []
    entity_forms: list[tuple[int, int]] = []
    for pi, pattern in enumerate(library.patterns):
        for fi, form in enumerate(pattern.forms):
            if form.kind in ("literal", "emoji"):
                try:
                    exprs.append(_Expr(pi, fi, "", literal_regex(form.text)))
                except ValueError as exc:
                    raise LibraryError(str(exc), file=pattern.file, pattern_id=pattern.id) from exc
            elif form.kind == "regex":
                exprs.append(_Expr(pi, fi, "", form.text))
            elif form.kind == "near" and form.near is not None:
                exprs.append(_Expr(pi, fi, "a", form.near.a))
                exprs.append(_Expr(pi, fi, "b", form.near.b))
            else:
                entity_forms.append((pi, fi))
    return exprs, entity_forms


def _compile_database(regexes: list[str], flags: list[int]) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[r.encode() for r in regexes], ids=list(range(len(regexes))), flags=flags)
    return database


def _compile_approx(library: PatternLibrary) -> tuple[hyperscan.Database | None, tuple[tuple[int, int], ...]]:
    regexes: list[str] = []
    owners: list[tuple[int, int]] = []
    for pi, pattern in enumerate(library.patterns):
        if pattern.category not in library.categories or library.categories[pattern.category].supporting:
            continue  # context-only categories gain nothing from typo tolerance but false hits
        for form in pattern.forms:
            if form.kind != "literal":
                continue
            regex = tolerant_literal(form.text)
            if regex is not None:
                regexes.append(regex)
                owners.append((pi, len(regex.replace("\\", ""))))
    if not regexes or not library.tolerant:
        return None, ()
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    one_edit = hyperscan.ExpressionExt(  # type: ignore[attr-defined]  # missing from the binding's stubs
        flags=hyperscan.HS_EXT_FLAG_EDIT_DISTANCE, edit_distance=1)
    ext = [one_edit] * len(regexes)
    database.compile(expressions=[r.encode() for r in regexes], ids=list(range(len(regexes))),
                     flags=[_APPROX_FLAGS] * len(regexes), ext=ext)
    return database, tuple(owners)


def compile_engine(library: PatternLibrary) -> _Engine:
    """Compile the library into one Hyperscan database; name the pattern if an expression fails."""
    exprs, entity_forms = _expressions(library)
    regexes = [e.regex for e in exprs]
    flags = [_BASE_FLAGS | hyperscan.HS_FLAG_PREFILTER if _NEEDS_PREFILTER.search(r) else _BASE_FLAGS
             for r in regexes]
    if exprs:
        try:
            database = _compile_database(regexes, flags)
        except hyperscan.error:
            flags = [_single_flags(library, e) for e in exprs]
            database = _compile_database(regexes, flags)
    else:
        database = None
    confirm = [compile_bounded(e.regex) for e in exprs]
    entity_rules = []
    for pi, fi in entity_forms:
        rule = library.patterns[pi].forms[fi].entity
        if rule is not None:  # the obscured-contact rule reads a flag, not a kind of mention
            entity_rules.append((pi, rule, None if rule.kind == "contact_obfuscated" else rule.of or rule.kind))
    near_rules = {}
    for pi, pattern in enumerate(library.patterns):
        for fi, form in enumerate(pattern.forms):
            if form.near is not None:
                near_rules[(pi, fi)] = (compile_bounded(form.near.a), compile_bounded(form.near.b),
                                        form.near.within)
    approx, approx_patterns = _compile_approx(library)
    return _Engine(database, exprs, confirm, entity_rules, near_rules, approx, approx_patterns)


def _single_flags(library: PatternLibrary, expr: _Expr) -> int:
    """Find the flags one expression compiles with: exact if possible, else prefilter, else fail."""
    for flags in (_BASE_FLAGS, _BASE_FLAGS | hyperscan.HS_FLAG_PREFILTER):
        try:
            _compile_database([expr.regex], [flags])
            return flags
        except hyperscan.error as exc:
            error = exc
    pattern = library.patterns[expr.pattern]
    raise LibraryError(f"the matching engine cannot compile {expr.regex!r}: {error}", file=pattern.file,
                       pattern_id=pattern.id)


class PatternMatcher:
    """The compiled library: ``match`` finds every pattern a post shows, with evidence as written."""

    def __init__(self, library: PatternLibrary, budget_s: float = DEFAULT_MATCH_BUDGET_S) -> None:
        self.library = library
        self._engine = compile_engine(library)  # LibraryError if the engine refuses an expression
        self.budget_s = budget_s
        self.category_labels = {cid: c.label for cid, c in library.categories.items()}
        """Readable name of each category of the library, for explanations."""
        self.over_budget = 0
        """Patterns skipped so far because a post used up the match budget (see ``match``)."""

    @property
    def version(self) -> str:
        return self.library.version

    def _hits(self, text: str) -> set[int]:
        hits: set[int] = set()
        if self._engine.database is None or not text:
            return hits
        self._engine.database.scan(text.encode("utf-8", "replace"), match_event_handler=_collect_hit, context=hits)
        return hits

    def match(self, norm: NormalizedText, entities: Entities) -> list[Indicator]:
        """One indicator per pattern shown in the post, in order of where its evidence starts.

        The expression confirmations of one post share a time budget (``budget_s``), of which one
        expression may use a quarter: an expression that would run past its share on this text is
        skipped (counted in ``over_budget``) and the others still count, so no post can hold a worker
        for longer than the budget.
        """
        # No garbage collection while the post's searches are timed. A collection runs on the thread
        # that happens to allocate, and in a process with a large heap it can take longer than a
        # search's whole CPU share: the search would then be judged slow on this text and its pattern
        # skipped, so a post's indicators would depend on when the collector ran. Collection waits until
        # the post is matched. (Inline rather than a context manager: this runs once per post.)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._match(norm, entities)
        finally:
            if was_enabled:
                gc.enable()

    def _match(self, norm: NormalizedText, entities: Entities) -> list[Indicator]:
        text = norm.text
        deadline = time.thread_time() + self.budget_s
        spans: dict[int, tuple[int, int]] = {}
        near_sides: dict[tuple[int, int], set[str]] = {}
        engine = self._engine
        for expr_id in self._hits(text):
            expr = engine.exprs[expr_id]
            if expr.side:
                near_sides.setdefault((expr.pattern, expr.form), set()).add(expr.side)
                continue
            m = self._bounded(deadline, engine.confirm[expr_id].search, text)
            if m is not None and m.end() > m.start():
                _keep_first(spans, expr.pattern, (m.start(), m.end()))
        if engine.approx is not None and text.isascii():
            for pi, approx_span in self._approximate(engine.approx, text):
                spans.setdefault(pi, approx_span)
        for (pi, fi), sides in near_sides.items():
            if len(sides) == 2 and pi not in spans:
                span = self._bounded(deadline, self._near, pi, fi, text)
                if span is not None:
                    _keep_first(spans, pi, span)
        for pi in [pi for pi, span in spans.items() if _negated(text, span)]:
            del spans[pi]
        if entities.mentions:
            by_kind: dict[str, list[Mention]] = {}
            for mention in entities.mentions:
                by_kind.setdefault(mention.kind, []).append(mention)
            for pi, rule, needs in engine.entity_rules:
                if needs is None:
                    if not entities.contact_obfuscated:
                        continue
                elif needs not in by_kind:
                    continue
                span = _entity_span(rule, entities, by_kind)
                if span is not None:
                    _keep_first(spans, pi, span)
        indicators = [self._indicator(pi, span, norm) for pi, span in spans.items()]
        indicators.sort(key=lambda i: (i.span[0], i.pattern_id))
        return indicators

    def _approximate(self, approx: hyperscan.Database, text: str) -> list[tuple[int, tuple[int, int]]]:
        """Literal forms found with one edit of slack, each hit starting and ending on a word edge."""
        ends: dict[int, int] = {}

        def on_match(approx_id: int, _from: int, to: int, _flags: int, _ctx: Any) -> None:
            ends.setdefault(approx_id, to)

        approx.scan(text.encode("ascii"), match_event_handler=on_match)
        found = []
        for approx_id, end in ends.items():
            pi, letters = self._engine.approx_patterns[approx_id]
            if end < len(text) and text[end].isalnum():
                continue
            start = _word_start(text, max(0, end - letters))
            if abs((end - start) - letters) <= 1:
                found.append((pi, (start, end)))
        return found

    def _bounded(self, deadline: float, search: Callable[..., T], *args: Any) -> T | None:
        """``search(*args, timeout=…)`` within the CPU time left before ``deadline``; None if over budget.

        The budget is CPU time of this thread (``time.thread_time``), so a post's decisions do not depend
        on how busy the machine is. ``regex`` times out on the wall clock, so a search that timed out
        having used less CPU than it was given was only kept waiting for the CPU, and is run again with
        what is left; a search that really spent its share is skipped.
        """
        for _ in range(_PREEMPTED_RETRIES + 1):
            started = time.thread_time()
            remaining = min(deadline - started, self.budget_s * _EXPRESSION_SHARE)
            if remaining <= 0:
                break
            try:
                return search(*args, timeout=remaining)
            except TimeoutError:
                if time.thread_time() - started >= remaining * _SPENT_SHARE:
                    break
        self.over_budget += 1
        return None

    def _near(self, pi: int, fi: int, text: str, timeout: float) -> tuple[int, int] | None:
        a_rx, b_rx, within = self._engine.near_rules[(pi, fi)]
        a_spans = [m.span() for _, m in zip(range(20), a_rx.finditer(text, timeout=timeout), strict=False)]
        b_spans = [m.span() for _, m in zip(range(20), b_rx.finditer(text, timeout=timeout), strict=False)]
        best: tuple[int, tuple[int, int]] | None = None
        for a in a_spans:
            for b in b_spans:
                first, second = (a, b) if a[0] <= b[0] else (b, a)
                gap = len(text[first[1] : second[0]].split()) if second[0] > first[1] else 0
                if gap <= within and (best is None or gap < best[0]):
                    best = (gap, (min(a[0], b[0]), max(a[1], b[1])))
        return None if best is None else best[1]

    def _indicator(self, pi: int, span: tuple[int, int], norm: NormalizedText) -> Indicator:
        pattern: Pattern = self.library.patterns[pi]
        evidence, original = norm.evidence(*span)
        return Indicator(pattern.id, pattern.category, evidence, original, pattern.weight, pattern.description)

    def check_examples(self) -> list[ExampleFailure]:
        """Every positive example must raise its pattern and every negative must not."""
        failures: list[ExampleFailure] = []
        for pattern in self.library.patterns:
            for kind, texts in (("positive", pattern.positive), ("negative", pattern.negative)):
                for text in texts:
                    norm = normalize(text)
                    found = {i.pattern_id: i for i in self.match(norm, extract_entities(norm))}
                    if kind == "positive" and pattern.id not in found:
                        failures.append(ExampleFailure(pattern.id, kind, text, "the pattern did not match"))
                    elif kind == "negative" and pattern.id in found:
                        failures.append(ExampleFailure(pattern.id, kind, text,
                                                       f"the pattern matched {found[pattern.id].evidence!r}"))
        return failures


def _collect_hit(expr_id: int, _from: int, _to: int, _flags: int, hits: Any) -> None:
    hits.add(expr_id)  # ``hits`` is the set ``_hits`` passes as the scan's context


def _negated(text: str, span: tuple[int, int]) -> bool:
    """Whether a negation governs the hit at ``span``; a hit that is itself negative ("no days off")
    stays, even after another negative phrase ("no fee, no days off")."""
    if _SELF_NEGATIVE.match(text, span[0]):
        return False
    return _NEGATED.search(text, max(0, span[0] - 24), span[0]) is not None


def _word_start(text: str, pos: int) -> int:
    """The start of the word around ``pos`` (an approximate hit may begin one character early or late)."""
    if pos < len(text) and not text[pos].isalnum():
        return pos + 1
    while pos > 0 and text[pos - 1].isalnum():
        pos -= 1
    return pos


def _keep_first(spans: dict[int, tuple[int, int]], pi: int, span: tuple[int, int]) -> None:
    if pi not in spans or span[0] < spans[pi][0]:
        spans[pi] = span


def _entity_span(rule: EntityRule, entities: Entities, by_kind: dict[str, list[Mention]]) -> tuple[int, int] | None:
    """The normalised-text span of the first mention satisfying ``rule``, or ``None``."""

    def within(value: float) -> bool:
        return (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)

    if rule.kind == "age":
        return _first_span(m for m in by_kind.get("age", ()) if within(float(m.value)))
    if rule.kind == "contact_obfuscated":
        return _first_span(m for m in entities.mentions if m.obfuscated and m.kind in ("phone", "email", "handle"))
    if rule.kind == "price":
        pairs = zip(by_kind.get("price", ()), entities.prices, strict=False)
        return _first_span(
            m for m, p in pairs
            if within(p.amount) and (not rule.units or p.unit in rule.units)
            and (not rule.currencies or p.currency in rule.currencies)
        )
    if rule.kind == "count":
        mentions = by_kind.get(rule.of, ())
        distinct: dict[str, Mention] = {}
        for m in mentions:
            distinct.setdefault(m.value, m)
        if rule.min is None or len(distinct) < rule.min:
            return None
        placed = [m for m in distinct.values() if m.start >= 0]
        if not placed:
            return None
        last = placed[min(int(rule.min), len(placed)) - 1]
        if last.end - placed[0].start <= _MAX_COUNT_EVIDENCE:
            return (placed[0].start, last.end)
        return (placed[0].start, placed[0].end)
    return None


def _first_span(mentions: Any) -> tuple[int, int] | None:
    for m in mentions:
        if m.start >= 0:
            return (m.start, m.end)
    return None


# ------------------------------------------------------------------------------------------------


def enriched_view(record: dict[str, Any]) -> tuple[NormalizedText, Entities]:
    """Decode an enriched record (or normalise a raw post) into what the matcher reads."""
    if "normalized" in record:
        norm = decoded_normalized(record["normalized"])
    else:
        norm = normalize(post_text(record.get("post", record)))
    if "entities" in record:
        return norm, decoded_entities(record["entities"])
    return norm, extract_entities(norm)


WeightHook = Callable[[str, float], float]


def _weighted(indicator: Indicator, weight: float) -> Indicator:
    return indicator if weight == indicator.weight else replace(indicator, weight=weight)


class PatternDetector:
    """The known-pattern detector: library matches combined into one explained score in [0, 1]."""

    name = "patterns"

    def __init__(self, matcher: PatternMatcher, weight_of: WeightHook | None = None) -> None:
        self.matcher = matcher
        self.weight_of = weight_of

    def replace_matcher(self, matcher: PatternMatcher) -> None:
        """Swap in a newly published library (hot reload); the next post uses it."""
        self.matcher = matcher

    def score_one(self, post: dict[str, Any]) -> Detection:
        norm, entities = enriched_view(post)
        return self.score(norm, entities)

    def score(self, norm: NormalizedText, entities: Entities) -> Detection:
        matcher = self.matcher
        indicators = matcher.match(norm, entities)
        if self.weight_of is not None:
            hook = self.weight_of
            indicators = [_weighted(i, min(max(float(hook(i.pattern_id, i.weight)), 0.0), 1.0)) for i in indicators]
        result = combine_evidence(indicators, matcher.category_labels)
        return Detection(
            detector=self.name,
            score=result.score,
            indicators=tuple(indicators),
            explanation=result.explanation,
            details={
                "library_version": matcher.version,
                "categories": list(result.categories),
                "category_scores": dict(result.category_scores),
            },
        )
