"""Finding 1: a model checkpoint planted in Elasticsearch never runs code and never blocks real ones."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import zlib
from pathlib import Path

import river
from elasticsearch import AsyncElasticsearch

from trailhound.alerts.indices import prepare_indices
from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.signing import feedback_key, sign
from trailhound.streams.model_state import CHECKPOINT_ID, ModelSnapshot, load_checkpoint, save_checkpoint

MAGIC = b"TRAILHOUND-ONLINE-MODELS\n"


class _Payload:
    """What an attacker pickles: unpickling it creates a file (a stand-in for any shell command)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def _forged_state(marker: Path, format_: int) -> bytes:
    header = {"format": format_, "river": river.__version__, "python": "3.11", "version": "evil+0"}
    return MAGIC + json.dumps(header).encode() + b"\n" + zlib.compress(pickle.dumps(_Payload(marker)))


def test_a_checkpoint_forged_with_the_verdict_key_runs_nothing_and_is_overwritten(settings, es, tmp_path):
    prepare_indices(settings)
    marker = tmp_path / "code-ran"
    for format_ in (2, 3):  # the old pickle format and the current one: neither unpickles anything
        state = _forged_state(marker, format_)
        offset = 10**9
        forged = {"state": base64.b64encode(state).decode(), "feedback_offset": offset, "version": "evil+0",
                  "signature": sign(feedback_key(settings), f"{offset}\n".encode() + state).decode()}
        es.index(index=settings.index("models"), id=CHECKPOINT_ID, document=forged,
                 version=2**62 + format_, version_type="external", refresh=True)  # the huge version that blocked
        assert load_checkpoint(es, settings) is None
        assert not marker.exists(), "the forged checkpoint ran code"
        # the same bytes handed straight to the model loader are refused too
        try:
            OnlineModels.loads(state)
        except ValueError as exc:
            assert "format" in str(exc) or "corrupt" in str(exc)
        assert not marker.exists()

    async def save() -> bool:
        client = AsyncElasticsearch(settings.elasticsearch_url)
        try:
            return await save_checkpoint(client, settings, ModelSnapshot.of(OnlineModels(lineage="real"), 5), "test")
        finally:
            await client.close()

    assert asyncio.run(save()), "a genuine checkpoint must replace the planted one"
    restored = load_checkpoint(es, settings)
    assert restored is not None and restored.models.lineage == "real" and restored.next_feedback_offset == 6
