"""Where the online models' learned state is kept between worker runs: one Elasticsearch document.

Every worker learns every verdict, so all workers converge on the same model state; whichever writes a
checkpoint writes it for all. The document carries the offset of the last verdict it reflects and is
written with Elasticsearch's external versioning, so an older checkpoint can never overwrite a newer
one. On start a worker restores the checkpoint and replays only the verdicts after it: a killed worker
loses no learned verdict. Without a checkpoint the models are warm-started from synthetic posts.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch, ConflictError, Elasticsearch, NotFoundError

from detectors.online.ensemble import ModelStateError, OnlineModels
from trailhound.config import Settings

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "save_checkpoint_sync"]

log = logging.getLogger(__name__)

CHECKPOINT_ID = "online-models"
MAPPING = {"dynamic": "false", "properties": {
    "state": {"type": "binary"}, "feedback_offset": {"type": "long"}, "version": {"type": "keyword"},
    "saved_at": {"type": "date", "format": "epoch_second"}, "saved_by": {"type": "keyword"},
}}


@dataclass
class Checkpoint:
    """Restored models and the next ``feedback`` offset they have not learned yet."""

    models: OnlineModels
    next_feedback_offset: int


def _index(settings: Settings) -> str:
    return settings.index("models")


def _document(models: OnlineModels, feedback_offset: int, saved_by: str) -> dict[str, object]:
    return {"state": base64.b64encode(models.dumps()).decode("ascii"), "feedback_offset": feedback_offset,
            "version": models.version, "saved_at": int(time.time()), "saved_by": saved_by}


def load_checkpoint(es: Elasticsearch, settings: Settings) -> Checkpoint | None:
    """The newest checkpoint, or None if there is none or it cannot be used here (logged)."""
    try:
        found = es.get(index=_index(settings), id=CHECKPOINT_ID)
    except NotFoundError:
        return None
    source = found["_source"]
    try:
        models = OnlineModels.loads(base64.b64decode(source["state"]))
    except (ModelStateError, ValueError, KeyError) as exc:
        log.error("model checkpoint %s unusable (%s); starting from a warm start", source.get("version"), exc)
        return None
    return Checkpoint(models, int(source["feedback_offset"]) + 1)


async def save_checkpoint(es: AsyncElasticsearch, settings: Settings, models: OnlineModels, feedback_offset: int,
                          saved_by: str) -> bool:
    """Write a checkpoint reflecting verdicts up to ``feedback_offset``; False if a newer one exists."""
    if not await es.indices.exists(index=_index(settings)):
        await es.options(ignore_status=400).indices.create(
            index=_index(settings), mappings=MAPPING, settings={"number_of_shards": 1, "number_of_replicas": 0})
    try:
        await es.index(index=_index(settings), id=CHECKPOINT_ID, document=_document(models, feedback_offset, saved_by),
                       version=feedback_offset + 2, version_type="external")
    except ConflictError:
        return False
    return True


def save_checkpoint_sync(es: Elasticsearch, settings: Settings, models: OnlineModels, saved_by: str,
                         replace: bool = False) -> bool:
    """Write a warm-start checkpoint (no verdicts yet); refuses to replace learned state unless ``replace``."""
    if replace:  # external versions survive a deleted document for a while: drop the whole index
        es.options(ignore_status=404).indices.delete(index=_index(settings))
    if not es.indices.exists(index=_index(settings)):
        es.options(ignore_status=400).indices.create(
            index=_index(settings), mappings=MAPPING, settings={"number_of_shards": 1, "number_of_replicas": 0})
    try:
        es.index(index=_index(settings), id=CHECKPOINT_ID, document=_document(models, -1, saved_by),
                 version=1, version_type="external", refresh=True)
    except ConflictError:
        return False
    return True
