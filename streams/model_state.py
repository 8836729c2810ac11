"""Where the online models' learned state is kept between worker runs: one Elasticsearch document.

Every worker learns every verdict, so all workers converge on the same model state; whichever writes a
checkpoint writes it for all. The document carries the offset of the last verdict it reflects and is
written with Elasticsearch's external versioning, so an older checkpoint can never overwrite a newer
one. On start a worker restores the checkpoint and replays only the verdicts after it: a killed worker
loses no learned verdict. Without a checkpoint the models are warm-started from synthetic posts.

Restoring unpickles, which can run code, so a checkpoint is signed with the feedback key
(:mod:`trailhound.signing`) and a checkpoint whose signature does not verify is never loaded.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, Elasticsearch, NotFoundError

from trailhound.config import Settings
from trailhound.detectors.online.ensemble import ModelStateError, OnlineModels
from trailhound.signing import feedback_key, sign, verify

__all__ = ["Checkpoint", "ModelSnapshot", "load_checkpoint", "save_checkpoint", "save_warm_start"]

log = logging.getLogger(__name__)

CHECKPOINT_ID = "online-models"  # in the ``models`` index, created from its template (alerts.indices)


@dataclass
class Checkpoint:
    """Restored models and the next ``feedback`` offset they have not learned yet."""

    models: OnlineModels
    next_feedback_offset: int


@dataclass(frozen=True)
class ModelSnapshot:
    """Model bytes and the last verdict offset they reflect, taken together between two verdicts."""

    state: bytes
    version: str
    feedback_offset: int

    @classmethod
    def of(cls, models: OnlineModels, feedback_offset: int) -> ModelSnapshot:
        return cls(models.dumps(), models.version, feedback_offset)

    def document(self, settings: Settings, saved_by: str) -> dict[str, Any]:
        return {"state": base64.b64encode(self.state).decode("ascii"),
                "signature": sign(feedback_key(settings), _signed(self.state, self.feedback_offset)).decode("ascii"),
                "feedback_offset": self.feedback_offset, "version": self.version,
                "saved_at": int(time.time()), "saved_by": saved_by}


def _signed(state: bytes, feedback_offset: int) -> bytes:
    """What the signature covers: the state and the offset, so neither can be swapped on its own."""
    return f"{feedback_offset}\n".encode("ascii") + state


def _index(settings: Settings) -> str:
    return settings.index("models")


def load_checkpoint(es: Elasticsearch, settings: Settings) -> Checkpoint | None:
    """The newest checkpoint, or None if there is none or it cannot be used here (logged)."""
    try:
        source = es.get(index=_index(settings), id=CHECKPOINT_ID)["_source"]
    except NotFoundError:
        return None
    try:
        state = base64.b64decode(source["state"])
        signed = _signed(state, int(source["feedback_offset"]))
        if not verify(feedback_key(settings), signed, str(source.get("signature", "")).encode("ascii")):
            raise ModelStateError("its signature does not match the feedback key; refusing to unpickle it")
        models = OnlineModels.loads(state)
    except (ModelStateError, ValueError, KeyError) as exc:
        log.error("model checkpoint %s unusable (%s); starting from a warm start", source.get("version"), exc)
        return None
    return Checkpoint(models, int(source["feedback_offset"]) + 1)


async def save_checkpoint(es: AsyncElasticsearch, settings: Settings, snapshot: ModelSnapshot, saved_by: str) -> bool:
    """Write a snapshot; False if a checkpoint of a later verdict is already stored."""
    try:
        await es.index(index=_index(settings), id=CHECKPOINT_ID, document=snapshot.document(settings, saved_by),
                       version=snapshot.feedback_offset + 2, version_type="external")
    except ConflictError:
        return False
    return True


def save_warm_start(es: Elasticsearch, settings: Settings, models: OnlineModels, replace: bool = False) -> bool:
    """Store warm-started models (no verdicts yet); refuses to replace learned state unless ``replace``.

    With ``replace``, workers started afterwards rebuild from these models plus every verdict on the
    ``feedback`` topic, which keeps verdicts forever.
    """
    if replace:  # external versions outlive a deleted document for a while: drop the whole index
        es.options(ignore_status=404).indices.delete(index=_index(settings))
    snapshot = ModelSnapshot.of(models, feedback_offset=-1)
    try:
        es.index(index=_index(settings), id=CHECKPOINT_ID, document=snapshot.document(settings, "warm-start"),
                 version=1, version_type="external", refresh=True)
    except ConflictError:
        return False
    return True
