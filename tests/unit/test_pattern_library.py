"""The pattern library: strict validation with clear errors, versions, examples, and the wire form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.shipped_patterns import shipped_library
from trailhound.detectors.library import LibraryError, PatternLibrary
from trailhound.detectors.matcher import PatternMatcher

SHIPPED = Path(__file__).resolve().parents[2] / "detectors" / "patterns"
SHIPPED_LIBRARY = shipped_library()

HEAD = {
    "version": "1.0",
    "categories": {
        "youth": {"label": "youth language", "description": "signs of youth"},
        "control": {"label": "third-party control", "description": "someone else in charge"},
    },
    "macros": {"girls": "(?:girls?|ladies)"},
}


def pattern(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "youth.barely_legal",
        "weight": 0.4,
        "description": "Stresses that the person has only just become an adult.",
        "source": "Example source, 2024.",
        "match": [{"literal": "barely legal"}],
        "examples": {"positive": ["barely legal cutie"], "negative": ["legal advice"]},
    }
    body.update(overrides)
    return body


def write_library(directory: Path, patterns: list[dict[str, Any]], head: dict[str, Any] | None = None,
                  category: str = "youth") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "library.yaml").write_text(yaml.safe_dump(head or HEAD, allow_unicode=True))
    (directory / f"{category}.yaml").write_text(
        yaml.safe_dump({"category": category, "patterns": patterns}, allow_unicode=True)
    )
    return directory


def load_error(tmp_path: Path, patterns: list[dict[str, Any]], **kw: Any) -> LibraryError:
    """The error a library is refused with when loaded and compiled, as a worker or ``validate`` does."""
    with pytest.raises(LibraryError) as caught:
        PatternMatcher(PatternLibrary.load(write_library(tmp_path / "lib", patterns, **kw)))
    return caught.value


def test_shipped_library_loads_and_all_its_examples_pass() -> None:
    library = SHIPPED_LIBRARY
    assert len(library.patterns) >= 150
    assert PatternMatcher(library).check_examples() == []


def test_shipped_library_covers_the_documented_categories() -> None:
    library = SHIPPED_LIBRARY
    used = {p.category for p in library.patterns}
    for category in ("youth", "control", "movement", "coercion", "price", "multiple", "obfuscation", "trust",
                     "ethnicity", "screening"):
        assert category in used
    assert sum(1 for c in used if c.startswith("labour_")) >= 6


def test_evidence_based_weights_are_encoded() -> None:
    by_id = SHIPPED_LIBRARY.by_id()
    movement = [p for p in by_id.values() if p.category == "movement"]
    screening = [p for p in by_id.values() if p.category == "screening"]
    youth = [p for p in by_id.values() if p.category == "youth" and p.weight > 0]
    assert max(p.weight for p in movement) < min(p.weight for p in youth)
    assert all(p.weight == 0.0 for p in screening)
    assert by_id["youth.stated_age_under_23"].weight == 0.0
    assert all("Lugo-Graulich" in p.source for p in movement + screening)


def test_a_valid_small_library_loads(tmp_path: Path) -> None:
    library = PatternLibrary.load(write_library(tmp_path / "lib", [pattern()]))
    assert [p.id for p in library.patterns] == ["youth.barely_legal"]
    assert library.version.startswith("1.0+")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"colour": "red"}, "unknown key(s) ['colour']"),
        ({"weight": 1.5}, "'weight' must be a number in [0, 1]"),
        ({"weight": -0.1}, "'weight' must be a number in [0, 1]"),
        ({"weight": True}, "'weight' must be a number in [0, 1]"),
        ({"match": [{"regex": "barely (legal"}]}, "regex does not compile"),
        ({"match": [{"regex": "x*"}]}, "matches the empty string"),
        ({"match": [{"regex": "{{boys}}"}]}, "unknown macro {{boys}}"),
        ({"match": [{"wildcard": "barely*"}]}, "unknown surface form 'wildcard'"),
        ({"match": [{"entity": {"kind": "age"}}]}, "needs min and/or max"),
        ({"match": [{"near": {"a": "x", "b": "y"}}]}, "near rule is missing ['within']"),
        ({"match": [{"regex": "ab{2,70000}"}]}, "matching engine cannot compile"),
        ({"examples": {"positive": ["barely legal"]}}, "examples.negative must be a non-empty list"),
        ({"id": "control.barely_legal"}, "id must start with its category 'youth.'"),
        ({"id": "Barely Legal"}, "'id' must look like"),
    ],
)
def test_bad_patterns_are_refused_with_file_id_and_reason(tmp_path: Path, change: dict, reason: str) -> None:
    error = load_error(tmp_path, [pattern(**change)])
    assert reason in str(error)
    assert error.file == "youth.yaml"
    assert error.pattern_id in ("youth.barely_legal", change.get("id"))


def test_missing_fields_are_named(tmp_path: Path) -> None:
    body = pattern()
    del body["source"], body["examples"]
    error = load_error(tmp_path, [body])
    assert "missing required field(s) ['examples', 'source']" in str(error)
    assert "youth.barely_legal" in str(error)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, [pattern(), pattern(weight=0.2)])
    assert "duplicate id" in str(error) and error.pattern_id == "youth.barely_legal"


def test_undeclared_category_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, [pattern(id="labour.x")], category="labour")
    assert "category 'labour' is not declared" in str(error)


def test_unknown_keys_in_the_library_file_are_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, [pattern()], head=HEAD | {"owner": "me"})
    assert error.file == "library.yaml" and "unknown key(s) ['owner']" in str(error)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    directory = write_library(tmp_path / "lib", [pattern()])
    (directory / "youth.yaml").write_text("patterns: [unclosed")
    with pytest.raises(LibraryError) as caught:
        PatternLibrary.load(directory)
    assert caught.value.file == "youth.yaml" and "not valid YAML" in str(caught.value)


def test_failing_examples_are_reported_by_pattern(tmp_path: Path) -> None:
    broken = pattern(examples={"positive": ["legal advice"], "negative": ["barely legal cutie"]})
    failures = PatternMatcher(PatternLibrary.load(write_library(tmp_path / "lib", [broken]))).check_examples()
    assert {(f.pattern_id, f.kind) for f in failures} == {("youth.barely_legal", "positive"),
                                                          ("youth.barely_legal", "negative")}
    assert "barely legal" in str([str(f) for f in failures if f.kind == "negative"][0]).lower()


def test_version_changes_with_content_and_only_with_content(tmp_path: Path) -> None:
    a = PatternLibrary.load(write_library(tmp_path / "a", [pattern()]))
    b = PatternLibrary.load(write_library(tmp_path / "b", [pattern()]))
    c = PatternLibrary.load(write_library(tmp_path / "c", [pattern(weight=0.41)]))
    assert a.version == b.version
    assert c.version != a.version and c.declared_version == a.declared_version


def test_wire_form_round_trips_and_revalidates() -> None:
    library = SHIPPED_LIBRARY
    wire = json.loads(json.dumps(library.to_json()))
    again = PatternLibrary.from_json(wire)
    assert again.version == library.version
    assert [p.id for p in again.patterns] == [p.id for p in library.patterns]
    assert again.to_json() == library.to_json()


def test_wire_form_with_tampered_content_or_bad_pattern_is_refused() -> None:
    wire = SHIPPED_LIBRARY.to_json()
    tampered = json.loads(json.dumps(wire))
    tampered["files"][0]["patterns"][0]["weight"] = 0.99
    with pytest.raises(LibraryError, match="does not match its version"):
        PatternLibrary.from_json(tampered)
    broken = json.loads(json.dumps(wire))
    broken["files"][0]["patterns"][0]["match"] = [{"regex": "(unclosed"}]
    with pytest.raises(LibraryError, match="does not compile"):
        PatternLibrary.from_json(broken)
    with pytest.raises(LibraryError, match="wire format"):
        PatternLibrary.from_json({"patterns": []})


def test_regex_features_the_engine_lacks_still_match_exactly(tmp_path: Path) -> None:
    """Look-arounds and back-references run in prefilter mode and are confirmed exactly."""
    body = pattern(
        match=[{"regex": r"\bno english\b(?! class)"}, {"regex": r"\b(\w+) and \1 girls\b"}],
        examples={"positive": ["sorry, no english", "new and new girls"],
                  "negative": ["no english class today", "new and old girls"]},
    )
    library = PatternLibrary.load(write_library(tmp_path / "lib", [body]))
    assert PatternMatcher(library).check_examples() == []


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:2]):
            out += _paths(v, prefix + (i,))
    return out


_SMALL_WIRE = SHIPPED_LIBRARY.to_json()
_SMALL_WIRE["files"] = [f | {"patterns": f["patterns"][:1]} for f in _SMALL_WIRE["files"][:3]]
_SMALL_WIRE.pop("version")
_WIRE_PATHS = _paths(_SMALL_WIRE)


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(_WIRE_PATHS), value=_JSON_VALUES)
def test_any_malformed_published_library_fails_with_a_library_error(path: tuple, value: Any) -> None:
    """A worker receiving a broken library gets a LibraryError (and keeps its last good one)."""
    wire = json.loads(json.dumps(_SMALL_WIRE))
    node = wire
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        PatternLibrary.from_json(wire)
    except LibraryError as error:
        assert error.reason  # refused, and it says why


def test_harmless_context_categories_are_marked_supporting() -> None:
    library = SHIPPED_LIBRARY
    supporting = {c.id for c in library.categories.values() if c.supporting}
    assert {"movement", "obfuscation", "screening"} <= supporting
    assert not supporting & {"youth", "control", "coercion", "labour_documents", "labour_debt"}
    assert PatternLibrary.from_json(library.to_json()).categories == library.categories
