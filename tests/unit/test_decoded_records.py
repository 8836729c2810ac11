"""The detectors read an enriched record's text and entities as the enrichment built them.

Enrichment hands its objects to :mod:`trailhound.detectors.decoded`, so detection in the same process
decodes nothing; what the detectors read must be exactly what decoding the record would give, and a
record that arrived from elsewhere (a copy of the JSON) is still decoded.
"""

from __future__ import annotations

import copy

import pytest

from trailhound.detectors.decoded import decoded_entities, decoded_normalized
from trailhound.detectors.extract import Entities
from trailhound.detectors.normalize import NormalizedText
from trailhound.streams.enrich import enrich_post

POST = {"id": "p1", "source": "test", "posted_at": "2025-06-01T12:00:00Z",
        "body": "Ｎｅｗ in town, y0ung & fresh, 2O1-555-Ol23, $150/hr, ask for Mia 💗",
        "contact": {"phones": ["201 555 0199"]}}


def _no_decoding(_data: object) -> None:
    raise AssertionError("decoded a record that enrichment had just built")


def test_detectors_read_the_objects_enrichment_built_and_they_equal_a_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    record = enrich_post(POST, 0.0, language=False)
    monkeypatch.setattr(decoded_normalized, "_decode", _no_decoding)
    monkeypatch.setattr(decoded_entities, "_decode", _no_decoding)
    norm, entities = decoded_normalized(record["normalized"]), decoded_entities(record["entities"])
    monkeypatch.undo()
    decoded = NormalizedText.from_json(record["normalized"])
    assert (norm.original, norm.text, norm.segments) == (decoded.original, decoded.text, decoded.segments)
    assert entities == Entities.from_json(record["entities"])
    assert entities.phones and entities.prices


def test_a_record_from_elsewhere_is_decoded() -> None:
    record = enrich_post(POST, 0.0, language=False)
    remembered = decoded_normalized(record["normalized"])
    arrived = copy.deepcopy(record)
    norm = decoded_normalized(arrived["normalized"])
    assert norm is not remembered
    assert norm.text == remembered.text and norm.segments == remembered.segments
    assert decoded_entities(arrived["entities"]) == decoded_entities(record["entities"])
