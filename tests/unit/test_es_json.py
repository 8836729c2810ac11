"""The worker's Elasticsearch client encodes and decodes through orjson, with the standard library's results."""

from __future__ import annotations

import json

import numpy as np
from elasticsearch import AsyncElasticsearch

from trailhound.es_json import orjson_serializers


def _client() -> AsyncElasticsearch:
    return AsyncElasticsearch("http://127.0.0.1:1", serializers=orjson_serializers())


def test_every_json_media_type_goes_through_orjson() -> None:
    serializers = _client().transport.serializers
    for mimetype in ("application/json", "application/x-ndjson", "application/vnd.elasticsearch+json",
                     "application/vnd.elasticsearch+x-ndjson; compatible-with=8"):
        assert type(serializers.get_serializer(mimetype)).__module__ == "trailhound.es_json"


def test_documents_read_back_as_the_standard_library_writes_them() -> None:
    serializers = _client().transport.serializers
    document = {"a": [1, 2.5, "é"], 3: "int key", "nested": {"t": (1, 2)}, "n": np.float32(0.5)}
    body = serializers.dumps(document, mimetype="application/json")
    assert json.loads(body) == {"a": [1, 2.5, "é"], "3": "int key", "nested": {"t": [1, 2]}, "n": 0.5}
    assert serializers.loads(body, mimetype="application/vnd.elasticsearch+json") == json.loads(body)


def test_bulk_lines_are_one_json_document_each() -> None:
    serializers = _client().transport.serializers
    body = serializers.dumps([{"index": {"_id": "x"}}, {"v": 1}, b'{"raw":true}'], mimetype="application/x-ndjson")
    assert [json.loads(line) for line in body.splitlines()] == [{"index": {"_id": "x"}}, {"v": 1}, {"raw": True}]
