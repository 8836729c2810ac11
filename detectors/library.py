"""The versioned indicator library: loading, strict validation, examples, and its wire form.

Analysts grow the library (YAML files under ``detectors/patterns/``) and publish new versions to
running workers without a redeploy, so a mistake must be caught at the door: unknown keys, missing
fields, weights outside [0, 1], regexes that do not compile, duplicate ids and undeclared categories
are all :class:`LibraryError` with the file, pattern id and reason; the engine's own check happens when
:mod:`~trailhound.detectors.matcher` compiles the library. Every pattern carries positive and negative
examples; :meth:`~trailhound.detectors.matcher.PatternMatcher.check_examples` runs them through the real
normalise → extract → match path, like Sigma rules with tests.

The library's version is the declared ``version`` from ``library.yaml`` plus a hash of the content,
so two different libraries never share a version string and each alert can name the one that raised
it. :meth:`PatternLibrary.to_json` is what is published on the compacted ``patterns`` topic; workers
rebuild it with :meth:`PatternLibrary.from_json`, which validates again and checks the hash. PyYAML's
``safe_load`` reads the files (it builds no arbitrary objects).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "BUNDLED_PATTERNS",
    "Category",
    "EntityRule",
    "ExampleFailure",
    "LibraryError",
    "NearRule",
    "Pattern",
    "PatternLibrary",
    "SurfaceForm",
]

BUNDLED_PATTERNS = Path(__file__).resolve().parent / "patterns"
"""The library shipped with Trailhound (``detectors/patterns``); workers start with it."""

FORMAT = 1
_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
_MACRO_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MACRO_REF = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")
_PATTERN_KEYS = {"id", "weight", "description", "source", "match", "examples", "notes"}
_REQUIRED_KEYS = {"id", "weight", "description", "source", "match", "examples"}
_FORM_KINDS = {"literal", "regex", "emoji", "near", "entity"}
_NEAR_KEYS = {"a", "b", "within"}
_ENTITY_KINDS = {"age", "price", "contact_obfuscated", "count"}
_ENTITY_KEYS = {
    "age": {"kind", "min", "max"},
    "price": {"kind", "min", "max", "units", "currencies"},
    "contact_obfuscated": {"kind"},
    "count": {"kind", "of", "min"},
}
_COUNTABLE = {"phone", "email", "handle", "price", "age", "location"}
_UNITS = {"half_hour", "quick_visit", "hour", "session", "overnight", "day", "week", "month", "year", "hourly_wage"}
_LIBRARY_KEYS = {"version", "description", "categories", "macros"}
_CATEGORY_FILE_KEYS = {"category", "patterns"}
REGEX_FLAGS = re.ASCII | re.IGNORECASE


class LibraryError(ValueError):
    """A pattern library that must not be used; says which file and pattern, and why."""

    def __init__(self, reason: str, *, file: str = "", pattern_id: str = "") -> None:
        self.file, self.pattern_id, self.reason = file, pattern_id, reason
        where = ": ".join(p for p in (file, f"pattern {pattern_id}" if pattern_id else "") if p)
        super().__init__(f"{where}: {reason}" if where else reason)


@dataclass(frozen=True, slots=True)
class Category:
    """A family of indicators (youth, third-party control, …) with the label analysts read.

    A *supporting* category (movement, prices, obscured contact…) raises a post's score but can never
    raise an alert on its own: it is no sign of coercion, youth or third-party control, and consenting
    adults' own ads carry it too.
    """

    id: str
    label: str
    description: str
    supporting: bool = False


@dataclass(frozen=True, slots=True)
class NearRule:
    """Two regexes whose matches lie within ``within`` words of each other (either order)."""

    a: str
    b: str
    within: int


@dataclass(frozen=True, slots=True)
class EntityRule:
    """A condition on extracted entities, e.g. a stated age of at most 17."""

    kind: str
    min: float | None = None
    max: float | None = None
    units: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    of: str = ""


@dataclass(frozen=True, slots=True)
class SurfaceForm:
    """One way a pattern shows on the page; ``kind`` picks which of the other fields is set."""

    kind: str  # literal | regex | emoji | near | entity
    text: str = ""  # the literal, emoji, or the regex with macros expanded
    near: NearRule | None = None
    entity: EntityRule | None = None
    raw: Any = None  # as written in the file, for the wire form


@dataclass(frozen=True, slots=True)
class Pattern:
    """One documented indicator: what it means, where the evidence for it comes from, how it reads."""

    id: str
    category: str
    weight: float
    description: str
    source: str
    forms: tuple[SurfaceForm, ...]
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    notes: str = ""
    file: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "weight": self.weight,
            "description": self.description,
            "source": self.source,
            "match": [f.raw for f in self.forms],
            "examples": {"positive": list(self.positive), "negative": list(self.negative)},
        }
        if self.notes:
            data["notes"] = self.notes
        return data


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """A positive example the pattern missed, or a negative one it wrongly matched."""

    pattern_id: str
    kind: str  # "positive" | "negative"
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pattern_id}: {self.kind} example {self.text!r}: {self.reason}"


@dataclass(frozen=True)
class PatternLibrary:
    """A validated, versioned set of patterns. Build it with :meth:`load` or :meth:`from_json`."""

    declared_version: str
    description: str
    categories: Mapping[str, Category]
    macros: Mapping[str, str]
    patterns: tuple[Pattern, ...]
    tolerant: bool = field(default=True, compare=False)
    """Whether literal forms also match with one edit of slack (see ``detectors.matcher``)."""

    def without_tolerance(self) -> PatternLibrary:
        """The same library matching literal forms exactly only (to measure what tolerance adds)."""
        return replace(self, tolerant=False)

    @cached_property
    def supporting_categories(self) -> frozenset[str]:
        """Categories that add to a score but never raise an alert alone (asked for every post)."""
        return frozenset(c.id for c in self.categories.values() if c.supporting)

    @cached_property
    def version(self) -> str:
        """The declared version plus a hash of the content, so any edit makes a new version."""
        return f"{self.declared_version}+{self.content_hash()}"

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path | str) -> PatternLibrary:
        """Read ``library.yaml`` and every other ``*.yaml`` file (one category each) in ``directory``."""
        directory = Path(directory)
        head_path = directory / "library.yaml"
        if not head_path.is_file():
            raise LibraryError("missing library.yaml (the file declaring version and categories)",
                               file=str(directory))
        head = _read_yaml(head_path)
        files: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.name != "library.yaml":
                files[path.name] = _read_yaml(path)
        return cls._build(head, files, head_name="library.yaml")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PatternLibrary:
        """Rebuild a published library, validating it as strictly as files on disk."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise LibraryError(f"not a pattern library in wire format {FORMAT}")
        head = {k: data[k] for k in ("description", "categories", "macros") if k in data}
        head["version"] = data.get("declared_version")
        entries = data.get("files")
        if not isinstance(entries, list):
            raise LibraryError("wire form must hold a list of files")
        files: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise LibraryError("wire form holds a file entry without a name")
            files[entry["name"]] = {"category": entry.get("category"), "patterns": entry.get("patterns")}
        try:
            library = cls._build(head, files, head_name="library.yaml")
        except LibraryError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # A shape the checks above did not foresee: still a refused library, never a crash.
            raise LibraryError(f"malformed library ({type(exc).__name__}: {exc})") from exc
        claimed = data.get("version")
        if claimed is not None and claimed != library.version:
            raise LibraryError(f"content does not match its version: claims {claimed}, is {library.version}")
        return library

    @classmethod
    def _build(cls, head: Any, files: Mapping[str, Any], head_name: str) -> PatternLibrary:
        head = _mapping(head, head_name, "the library file")
        _known_keys(head, _LIBRARY_KEYS, head_name, "")
        version = head.get("version")
        if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
            raise LibraryError("'version' must be a non-empty string", file=head_name)
        categories = _categories(head.get("categories"), head_name)
        macros = _macros(head.get("macros") or {}, head_name)
        patterns: list[Pattern] = []
        seen: dict[str, str] = {}
        for name, body in files.items():
            for pattern in _category_file(name, body, categories, macros):
                if pattern.id in seen:
                    raise LibraryError(f"duplicate id (also in {seen[pattern.id]})", file=name,
                                       pattern_id=pattern.id)
                seen[pattern.id] = name
                patterns.append(pattern)
        if not patterns:
            raise LibraryError("the library holds no patterns", file=head_name)
        return cls(str(version).strip(), str(head.get("description") or ""), categories, macros, tuple(patterns))

    # -- use -----------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The wire form published on the ``patterns`` topic; :meth:`from_json` reverses it."""
        files: dict[str, dict[str, Any]] = {}
        for p in self.patterns:
            entry = files.setdefault(p.file, {"name": p.file, "category": p.category, "patterns": []})
            entry["patterns"].append(p.to_json())
        return {
            "format": FORMAT,
            "version": self.version,
            "description": self.description,
            "categories": {c.id: {"label": c.label, "description": c.description, "supporting": c.supporting}
                           for c in self.categories.values()},
            "macros": dict(self.macros),
            "declared_version": self.declared_version,
            "files": list(files.values()),
        }

    def content_hash(self) -> str:
        body = {
            "categories": {c.id: [c.label, c.description, c.supporting] for c in self.categories.values()},
            "macros": dict(sorted(self.macros.items())),
            "patterns": [[p.file, p.category, p.to_json()] for p in self.patterns],
        }
        blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def by_id(self) -> dict[str, Pattern]:
        return {p.id: p for p in self.patterns}


# ------------------------------------------------------------------------------------------------
# validation helpers


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise LibraryError(f"not valid YAML: {exc}", file=path.name) from exc
    except UnicodeDecodeError as exc:
        raise LibraryError("not valid UTF-8", file=path.name) from exc


def _mapping(value: Any, file: str, what: str, pattern_id: str = "") -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise LibraryError(f"{what} must be a mapping, got {type(value).__name__}", file=file,
                           pattern_id=pattern_id)
    return dict(value)


def _known_keys(data: Mapping[str, Any], allowed: set[str], file: str, pattern_id: str, what: str = "") -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        where = f" in {what}" if what else ""
        raise LibraryError(f"unknown key(s) {unknown}{where}; allowed: {sorted(allowed)}", file=file,
                           pattern_id=pattern_id)


def _text(value: Any, name: str, file: str, pattern_id: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LibraryError(f"'{name}' must be a non-empty string", file=file, pattern_id=pattern_id)
    return value.strip()


def _categories(raw: Any, file: str) -> dict[str, Category]:
    raw = _mapping(raw, file, "'categories'")
    out: dict[str, Category] = {}
    for cid, body in raw.items():
        if not isinstance(cid, str) or not _MACRO_NAME.match(cid):
            raise LibraryError(f"category id {cid!r} must be lower_snake_case", file=file)
        body = _mapping(body, file, f"category {cid}")
        _known_keys(body, {"label", "description", "supporting"}, file, "", f"category {cid}")
        supporting = body.get("supporting", False)
        if not isinstance(supporting, bool):
            raise LibraryError(f"category {cid}: 'supporting' must be true or false", file=file)
        out[cid] = Category(cid, _text(body.get("label"), f"{cid}.label", file, ""),
                            _text(body.get("description"), f"{cid}.description", file, ""), supporting)
    if not out:
        raise LibraryError("no categories declared", file=file)
    return out


def _macros(raw: Any, file: str) -> dict[str, str]:
    raw = _mapping(raw, file, "'macros'")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _MACRO_NAME.match(name):
            raise LibraryError(f"macro name {name!r} must be lower_snake_case", file=file)
        if not isinstance(value, str) or not value:
            raise LibraryError(f"macro {name} must be a non-empty regex string", file=file)
        if _MACRO_REF.search(value):
            raise LibraryError(f"macro {name} may not use other macros", file=file)
        _compile(value, file, "", f"macro {name}")
        out[name] = value
    return out


def _compile(regex: str, file: str, pattern_id: str, what: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(regex, REGEX_FLAGS)
    except re.error as exc:
        raise LibraryError(f"{what} does not compile: {exc} in {regex!r}", file=file, pattern_id=pattern_id) from exc
    if compiled.search("") is not None:
        raise LibraryError(f"{what} matches the empty string, so it would match every post: {regex!r}",
                           file=file, pattern_id=pattern_id)
    return compiled


def expand_macros(regex: str, macros: Mapping[str, str], file: str = "", pattern_id: str = "") -> str:
    """Replace ``{{name}}`` by the macro's regex (as a non-capturing group)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise LibraryError(f"regex uses unknown macro {{{{{name}}}}}; declared: {sorted(macros)}",
                               file=file, pattern_id=pattern_id)
        return f"(?:{macros[name]})"

    return _MACRO_REF.sub(sub, regex)


def _category_file(name: str, body: Any, categories: Mapping[str, Category],
                   macros: Mapping[str, str]) -> Iterable[Pattern]:
    body = _mapping(body, name, "a category file")
    _known_keys(body, _CATEGORY_FILE_KEYS, name, "")
    category = body.get("category")
    if not isinstance(category, str) or category not in categories:
        raise LibraryError(f"category {category!r} is not declared in library.yaml "
                           f"(declared: {sorted(categories)})", file=name)
    raw_patterns = body.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        raise LibraryError("'patterns' must be a non-empty list", file=name)
    for index, raw in enumerate(raw_patterns):
        yield _pattern(raw, name, str(category), macros, index)


def _pattern(raw: Any, file: str, category: str, macros: Mapping[str, str], index: int) -> Pattern:
    pid = raw.get("id") if isinstance(raw, Mapping) else None
    label = pid if isinstance(pid, str) else f"#{index + 1}"
    raw = _mapping(raw, file, "a pattern", label)
    _known_keys(raw, _PATTERN_KEYS, file, label)
    missing = sorted(_REQUIRED_KEYS - set(raw))
    if missing:
        raise LibraryError(f"missing required field(s) {missing}", file=file, pattern_id=label)
    if not isinstance(pid, str) or not _ID.match(pid):
        raise LibraryError("'id' must look like 'category.short_name' (lower case, dots, underscores)",
                           file=file, pattern_id=label)
    if not pid.startswith(category + "."):
        raise LibraryError(f"id must start with its category '{category}.'", file=file, pattern_id=pid)
    weight = raw["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 <= float(weight) <= 1.0:
        raise LibraryError(f"'weight' must be a number in [0, 1], got {weight!r}", file=file, pattern_id=pid)
    forms = raw["match"]
    if not isinstance(forms, list) or not forms:
        raise LibraryError("'match' must be a non-empty list of surface forms", file=file, pattern_id=pid)
    examples = _mapping(raw["examples"], file, "'examples'", pid)
    _known_keys(examples, {"positive", "negative"}, file, pid, "examples")
    positive = _example_list(examples.get("positive"), "positive", file, pid)
    negative = _example_list(examples.get("negative"), "negative", file, pid)
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise LibraryError("'notes' must be a string", file=file, pattern_id=pid)
    return Pattern(
        id=pid,
        category=category,
        weight=float(weight),
        description=_text(raw["description"], "description", file, pid),
        source=_text(raw["source"], "source", file, pid),
        forms=tuple(_form(f, file, pid, macros) for f in forms),
        positive=positive,
        negative=negative,
        notes=notes.strip(),
        file=file,
    )


def _example_list(value: Any, kind: str, file: str, pid: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise LibraryError(f"examples.{kind} must be a non-empty list of texts", file=file, pattern_id=pid)
    return tuple(value)


def _form(raw: Any, file: str, pid: str, macros: Mapping[str, str]) -> SurfaceForm:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise LibraryError(f"each surface form is a mapping with exactly one of {sorted(_FORM_KINDS)}, "
                           f"got {raw!r}", file=file, pattern_id=pid)
    (kind, value), = raw.items()
    if kind not in _FORM_KINDS:
        raise LibraryError(f"unknown surface form {kind!r}; allowed: {sorted(_FORM_KINDS)}", file=file,
                           pattern_id=pid)
    raw = dict(raw)
    if kind in ("literal", "emoji"):
        return SurfaceForm(kind, text=_text(value, kind, file, pid), raw=raw)
    if kind == "regex":
        regex = expand_macros(_text(value, "regex", file, pid), macros, file, pid)
        _compile(regex, file, pid, "regex")
        return SurfaceForm(kind, text=regex, raw=raw)
    if kind == "near":
        body = _mapping(value, file, "'near'", pid)
        _known_keys(body, _NEAR_KEYS, file, pid, "near")
        missing = sorted(_NEAR_KEYS - set(body))
        if missing:
            raise LibraryError(f"near rule is missing {missing}", file=file, pattern_id=pid)
        within = body["within"]
        if isinstance(within, bool) or not isinstance(within, int) or not 0 <= within <= 50:
            raise LibraryError("near.within must be a whole number of words from 0 to 50", file=file,
                               pattern_id=pid)
        a = expand_macros(_text(body["a"], "near.a", file, pid), macros, file, pid)
        b = expand_macros(_text(body["b"], "near.b", file, pid), macros, file, pid)
        _compile(a, file, pid, "near.a")
        _compile(b, file, pid, "near.b")
        return SurfaceForm(kind, near=NearRule(a, b, within), raw=raw)
    return SurfaceForm(kind, entity=_entity_rule(value, file, pid), raw=raw)


def _entity_rule(value: Any, file: str, pid: str) -> EntityRule:
    body = _mapping(value, file, "'entity'", pid)
    kind = body.get("kind")
    if kind not in _ENTITY_KINDS:
        raise LibraryError(f"entity.kind must be one of {sorted(_ENTITY_KINDS)}, got {kind!r}", file=file,
                           pattern_id=pid)
    _known_keys(body, _ENTITY_KEYS[kind], file, pid, f"entity rule of kind {kind}")
    bounds = {}
    for key in ("min", "max"):
        v = body.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise LibraryError(f"entity.{key} must be a number", file=file, pattern_id=pid)
        bounds[key] = None if v is None else float(v)
    if kind in ("age", "price") and bounds["min"] is None and bounds["max"] is None:
        raise LibraryError(f"an entity rule on {kind} needs min and/or max", file=file, pattern_id=pid)
    units = _string_list(body.get("units"), "entity.units", file, pid)
    if not set(units) <= _UNITS:
        raise LibraryError(f"entity.units must be drawn from {sorted(_UNITS)}", file=file, pattern_id=pid)
    currencies = _string_list(body.get("currencies"), "entity.currencies", file, pid)
    of = body.get("of", "")
    if kind == "count":
        if of not in _COUNTABLE:
            raise LibraryError(f"entity.of must be one of {sorted(_COUNTABLE)}", file=file, pattern_id=pid)
        if bounds["min"] is None or bounds["min"] < 2:
            raise LibraryError("a count rule needs min of at least 2", file=file, pattern_id=pid)
    return EntityRule(kind, bounds["min"], bounds["max"], units, currencies, of)


def _string_list(value: Any, name: str, file: str, pid: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LibraryError(f"{name} must be a list of strings", file=file, pattern_id=pid)
    return tuple(value)

