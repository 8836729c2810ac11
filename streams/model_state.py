"""Where the online models' learned state is kept between worker runs: one Elasticsearch document.

Every worker learns every verdict, so all workers converge on the same model state; whichever writes a
checkpoint writes it for all. The document carries the offset of the last verdict it reflects. On
start a worker restores the checkpoint and replays only the verdicts after it: a killed worker loses
no learned verdict. Without a usable checkpoint the models are warm-started from synthetic posts.

A checkpoint is plain JSON data (:meth:`OnlineModels.dumps`), never a pickle, and it is signed with
the *worker* key (:mod:`trailhound.signing`), which verdict producers do not hold; a checkpoint whose
signature does not verify is never loaded. A newer checkpoint replaces the stored one only if the
stored one is older *by its signed offset*, with Elasticsearch's optimistic concurrency (sequence
number and primary term) settling races between workers: a planted document (unsigned, or with a huge
version number) neither loads nor blocks later checkpoints — it is simply overwritten.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, Elasticsearch, NotFoundError

from trailhound.config import Settings
from trailhound.detectors.online.ensemble import ModelStateError, OnlineModels
from trailhound.signing import sign, verify, worker_key

__all__ = ["Checkpoint", "ModelSnapshot", "load_checkpoint", "save_checkpoint", "save_warm_start"]

log = logging.getLogger(__name__)

CHECKPOINT_ID = "online-models"  # in the ``models`` index, created from its template (alerts.indices)
SAVE_ATTEMPTS = 5


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
                "signature": sign(worker_key(settings), _signed(self.state, self.feedback_offset)).decode("ascii"),
                "feedback_offset": self.feedback_offset, "version": self.version,
                "saved_at": int(time.time()), "saved_by": saved_by}


def _signed(state: bytes, feedback_offset: int) -> bytes:
    """What the signature covers: the state and the offset, so neither can be swapped on its own."""
    return f"{feedback_offset}\n".encode("ascii") + state


def _index(settings: Settings) -> str:
    return settings.index("models")


def _verified(source: Any, settings: Settings) -> tuple[bytes, int]:
    """The state bytes and offset of a stored document, if its worker signature holds; else ModelStateError."""
    try:
        state = base64.b64decode(source["state"], validate=True)
        offset = source["feedback_offset"]
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise ModelStateError("its feedback_offset is not a whole number")
        signature = str(source.get("signature", "")).encode("ascii")
    except (KeyError, TypeError, ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise ModelStateError(f"it is not a checkpoint document ({exc!r})") from None
    if not verify(worker_key(settings), _signed(state, offset), signature):
        raise ModelStateError("its signature does not match the worker key; refusing it")
    return state, offset


def load_checkpoint(es: Elasticsearch, settings: Settings) -> Checkpoint | None:
    """The newest checkpoint, or None if there is none or it cannot be used here (logged)."""
    try:
        source = es.get(index=_index(settings), id=CHECKPOINT_ID)["_source"]
    except NotFoundError:
        return None
    try:
        state, offset = _verified(source, settings)
        models = OnlineModels.loads(state)
    except ModelStateError as exc:
        log.error("model checkpoint %.60s unusable (%s); starting from a warm start", source.get("version"), exc)
        return None
    return Checkpoint(models, offset + 1)


def _replaces(stored: dict[str, Any] | None, snapshot: ModelSnapshot, settings: Settings) -> bool:
    """Whether ``snapshot`` should replace the stored document: it is newer, or the stored one is not ours."""
    if stored is None:
        return True
    try:
        _, offset = _verified(stored, settings)
    except ModelStateError as exc:
        log.warning("replacing an unusable model checkpoint (%s)", exc)
        return True
    return offset < snapshot.feedback_offset


def _concurrency(found: dict[str, Any] | None) -> dict[str, Any]:
    if found is None:
        return {"op_type": "create"}
    return {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}


async def save_checkpoint(es: AsyncElasticsearch, settings: Settings, snapshot: ModelSnapshot, saved_by: str) -> bool:
    """Write a snapshot; False if a checkpoint of the same or a later verdict is already stored."""
    document = snapshot.document(settings, saved_by)
    for _ in range(SAVE_ATTEMPTS):
        try:
            found: dict[str, Any] | None = dict(await es.get(index=_index(settings), id=CHECKPOINT_ID))
        except NotFoundError:
            found = None
        if not _replaces(found and found["_source"], snapshot, settings):
            return False
        try:
            await es.index(index=_index(settings), id=CHECKPOINT_ID, document=document, **_concurrency(found))
        except ConflictError:
            continue  # another worker wrote in between: look again
        return True
    return False


def save_warm_start(es: Elasticsearch, settings: Settings, models: OnlineModels, replace: bool = False) -> bool:
    """Store warm-started models (no verdicts yet); refuses to replace learned state unless ``replace``.

    With ``replace``, workers started afterwards rebuild from these models plus every verdict on the
    ``feedback`` topic, which keeps verdicts forever.
    """
    snapshot = ModelSnapshot.of(models, feedback_offset=-1)
    document = snapshot.document(settings, "warm-start")
    for _ in range(SAVE_ATTEMPTS):
        try:
            found: dict[str, Any] | None = dict(es.get(index=_index(settings), id=CHECKPOINT_ID))
        except NotFoundError:
            found = None
        if not replace and not _replaces(found and found["_source"], snapshot, settings):
            return False
        try:
            es.index(index=_index(settings), id=CHECKPOINT_ID, document=document, refresh=True, **_concurrency(found))
        except ConflictError:
            continue
        return True
    return False
