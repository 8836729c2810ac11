"""orjson for the worker's Elasticsearch client: request bodies, bulk lines and responses.

Why it exists: the Elasticsearch client encodes and decodes with the standard library's ``json``, and in
a py-spy profile of a worker fed at a steady rate that was about a tenth of its CPU (bulk requests of
posts, cluster state and alerts out; alert, post and cluster documents back in; issue 13). orjson (already
a dependency) does the same work several times faster. It is stricter in one way that matters here:
dictionary keys that are not strings are refused unless asked for, so they are allowed, and written as
``json`` writes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

__all__ = ["orjson_serializers"]

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class _OrjsonJson(JsonSerializer):
    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default, option=_OPTIONS)

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


class _OrjsonNdjson(NdjsonSerializer):
    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default, option=_OPTIONS)

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


class _OrjsonCompatJson(_OrjsonJson):
    mimetype: ClassVar[str] = "application/vnd.elasticsearch+json"


class _OrjsonCompatNdjson(_OrjsonNdjson):
    mimetype: ClassVar[str] = "application/vnd.elasticsearch+x-ndjson"


def orjson_serializers() -> dict[str, Any]:
    """The ``serializers`` argument of an Elasticsearch client: every JSON media type through orjson."""
    return {s.mimetype: s for s in (_OrjsonJson(), _OrjsonNdjson(), _OrjsonCompatJson(), _OrjsonCompatNdjson())}
