"""Which language a post is written in, so analysts can facet alerts and posts by it.

Why ``langid``: its naive-Bayes model over byte n-grams ships inside the wheel (1.9 MB, 97 languages,
nothing downloaded at run time), it is accurate on short ad-length texts for the languages we need,
and it is small. ``lingua-language-detector`` is more accurate on very short texts but is 96 MB.
langid's own ``classify`` costs about 300 µs per post here (a dense product over all 7,480 features
and a NumPy scalar update per n-gram), which alone would eat the whole detection budget, so
:class:`LanguageDetector` reads the same model (the same tokenising automaton and the same
probabilities) and scores only the features that occur, limited to the languages the library covers
plus a few frequent neighbours. Scripts that identify their language outright (Thai, Han, Hangul,
kana) are named without the model.
"""

from __future__ import annotations

import array
import hashlib
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langid.langid import LanguageIdentifier, model

from trailhound.config import Settings

__all__ = ["LANGUAGES", "LanguageDetector", "detect_language", "detect_languages", "preload"]

LANGUAGES: tuple[str, ...] = (
    "en", "es", "pt", "fr", "ru", "zh", "tl", "ro", "vi", "th",
    "de", "it", "nl", "pl", "uk", "tr", "ar", "hi", "ja", "ko",
)
"""Languages a post may be assigned: the library's ten and the most frequent neighbours they are
confused with (so a Ukrainian ad is not called Russian). Indonesian and Malay are left out: on
short ads langid took most Tagalog for Indonesian."""

UNKNOWN = "und"
_MAX_BYTES = 80  # the first sentence or two decide; long posts cost no more
# Emoji, symbols, format characters and blank fillers say nothing about the language and confuse the
# byte n-grams (after NFKC has turned fullwidth letters back into ASCII).
_NOT_WRITING = re.compile("[^\\w\\s.,;:!?'\u2019()\\-]|[\u3164\u115f\u1160\uffa0_]")
_MIN_LETTERS = 6
_MIN_BATCH = 8  # fewer posts than this: each walked alone costs less than a batch's NumPy steps
_NOT_LETTER_BYTES = bytes(b for b in range(256) if not (97 <= b <= 122 or b >= 128))

_SCRIPTS = (  # scripts used by one language among LANGUAGES
    ("th", re.compile("[\u0e00-\u0e7f]")),
    ("ja", re.compile("[\u3040-\u30ff]")),
    ("ko", re.compile("[\uac00-\ud7af]")),
    ("zh", re.compile("[\u4e00-\u9fff]")),
)
_ANY_SCRIPT = re.compile("|".join(pattern.pattern for _, pattern in _SCRIPTS))


class LanguageDetector:
    """langid's model restricted to ``languages``, scored sparsely; ``detect`` returns an ISO 639-1 code."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES, cache_dir: Path | None = None) -> None:
        """``cache_dir`` keeps the compact tables derived from langid's model, so that later starts load
        them in a fraction of a second instead of decompressing the model again (about 3 s of CPU)."""
        self._batch_tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # built at first batch
        cached = _cache_file(cache_dir, languages)
        if cached is not None and cached.is_file():
            try:
                with np.load(cached) as tables:
                    self._row, self._next = _transitions(tables["next"])
                    self._state_scores = tables["state_scores"]
                    self._pc = tables["pc"]
                    self._classes = tuple(str(c) for c in tables["classes"])
                return
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache is rebuilt below
        table = self._build(languages)
        if cached is not None:
            _save(cached, self, table)

    def _build(self, languages: tuple[str, ...]) -> np.ndarray:
        """Derive the tables from langid's model; returns the tokeniser's full transition table."""
        identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
        identifier.set_languages(list(languages))
        table = np.asarray(identifier.tk_nextmove)
        self._row, self._next = _transitions(table)
        ptc = np.asarray(identifier.nb_ptc, dtype=np.float64)
        # Each automaton state emits a fixed set of n-gram features: fold them into one score row per
        # state, so scoring a post is one gather and one sum over the states it passed through.
        n_states = len(self._row)
        self._state_scores = np.zeros((n_states, ptc.shape[1]), dtype=np.float64)
        for state, features in identifier.tk_output.items():
            self._state_scores[state] = ptc[list(features)].sum(axis=0)
        self._pc = np.asarray(identifier.nb_pc, dtype=np.float64)
        self._classes = tuple(identifier.nb_classes)
        return table

    def detect(self, text: str) -> str:
        """The most probable language of ``text``, or ``"und"`` when it holds too few letters."""
        data = _model_input(text)
        return data if isinstance(data, str) else self._walk_one(data)

    def _walk_one(self, data: bytes) -> str:
        """The best class of one input (lower-cased UTF-8 bytes), walked a byte at a time."""
        nextmove, row = self._next, self._row
        state = 0
        visited = array.array("I")  # handed to NumPy as a buffer: no conversion of each state
        visit = visited.append
        for byte in data:
            state = nextmove[row[state] + byte]
            visit(state)
        scores = self._pc + self._state_scores.take(np.frombuffer(visited, dtype=np.uint32), axis=0).sum(axis=0)
        return self._classes[int(np.argmax(scores))]

    def detect_many(self, texts: Sequence[str]) -> list[str]:
        """:meth:`detect` for each of ``texts``, the model's part done for the whole batch at once.

        The enrichment stage works on batches of posts: walking the tokeniser one byte position at a
        time for every post of the batch together, and scoring them in one gather, costs a few NumPy
        calls per batch instead of a Python step per byte and three NumPy calls per post. The result
        is the same as :meth:`detect`'s, state for state and sum for sum (the padding past a post's
        end adds rows of zeros, and each post's rows are summed in the same order).
        """
        out: list[str] = []
        walked: list[int] = []
        inputs: list[bytes] = []
        for i, text in enumerate(texts):
            data = _model_input(text)
            if isinstance(data, str):
                out.append(data)
            else:
                out.append(UNKNOWN)
                walked.append(i)
                inputs.append(data)
        if len(inputs) < _MIN_BATCH:
            for i, data in zip(walked, inputs, strict=True):
                out[i] = self._walk_one(data)
            return out
        for i, best in zip(walked, self._walk_batch(inputs), strict=True):
            out[i] = self._classes[best]
        return out

    def _walk_batch(self, inputs: list[bytes]) -> list[int]:
        """The best class of each input (lower-cased UTF-8 bytes), every input's walk advanced together."""
        if self._batch_tables is None:
            padded = np.vstack([self._state_scores, np.zeros((1, self._state_scores.shape[1]))])
            self._batch_tables = (np.frombuffer(self._row, dtype=np.uint32).astype(np.intp),
                                  np.asarray(self._next, dtype=np.intp), padded)
        row, nextmove, scores_of = self._batch_tables
        lengths = np.fromiter((len(d) for d in inputs), dtype=np.intp, count=len(inputs))
        width = int(lengths.max())
        data = np.frombuffer(b"".join(d.ljust(width, b"\0") for d in inputs), dtype=np.uint8)
        columns = data.reshape(len(inputs), width).T.astype(np.intp)  # one contiguous row per byte position
        visited = np.empty((width, len(inputs)), dtype=np.intp)
        state = np.zeros(len(inputs), dtype=np.intp)
        for k in range(width):
            state = nextmove[row[state] + columns[k]]
            visited[k] = state
        visited = visited.T.copy()
        visited[np.arange(width) >= lengths[:, None]] = len(scores_of) - 1  # past a post's end: the zero row
        scores = self._pc + scores_of[visited].sum(axis=1)
        return [int(best) for best in scores.argmax(axis=1)]


def _model_input(text: str) -> str | bytes:
    """What the model reads of ``text`` (its first bytes, lower-cased), or the answer when the model is
    not needed: the language its script names, or ``"und"`` for too few letters."""
    text = _NOT_WRITING.sub("", unicodedata.normalize("NFKC", text[: _MAX_BYTES * 2]))
    script = _script_language(text)
    if script is not None:
        return script
    data = text.encode("utf-8")[:_MAX_BYTES].lower()
    if len(data.translate(None, _NOT_LETTER_BYTES)) < _MIN_LETTERS:
        return UNKNOWN
    return data


def _transitions(table: Any) -> tuple[array.array[int], array.array[int]]:
    """The tokeniser's transition table, compacted: ``next_state = rows[row[state] + byte]``.

    As a Python list its 2.3 million entries (256 per state) were 2.3 million int objects (about
    80 MB), which the walk over a post's bytes reached at random: cache misses on a busy machine made
    the language three times slower inside the pipeline than alone. Only about a quarter of the
    states' rows differ, so each distinct row is stored once, as 16-bit states (32-bit if ever
    needed), and ``row`` gives each state the offset of its row: about 1.3 MB in all.
    """
    full = np.asarray(table).reshape(-1, 256)
    distinct, row_of_state = np.unique(full, axis=0, return_inverse=True)
    code = "H" if int(full.max()) < 1 << 16 else "I"
    rows = array.array(code, distinct.astype(np.uint16 if code == "H" else np.uint32).tobytes())
    return array.array("I", (row_of_state.reshape(-1) * 256).astype(np.uint32).tobytes()), rows


def _script_language(text: str) -> str | None:
    """A language named by its script alone (Thai, kana, Hangul, then Han), from the first 200 characters."""
    head = text[:200]
    if head.isascii() or _ANY_SCRIPT.search(head) is None:
        return None
    seen = {language: len(pattern.findall(head)) for language, pattern in _SCRIPTS}
    script_letters = sum(seen.values())
    if script_letters == 0 or script_letters * 3 < sum(1 for ch in head if ch.isalpha()):
        return None
    if seen["ja"] >= 2:
        return "ja"
    return max(seen, key=seen.__getitem__)


def _cache_file(cache_dir: Path | None, languages: tuple[str, ...]) -> Path | None:
    if cache_dir is None:
        return None
    key = hashlib.sha256(f"{len(model)}:{model[:64]}:{','.join(languages)}".encode()).hexdigest()[:16]
    return cache_dir / f"langid-{key}.npz"


def _save(path: Path, detector: LanguageDetector, table: np.ndarray) -> None:
    """Write the derived tables atomically; a cache that cannot be written is simply skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, next=np.asarray(table, dtype=np.int32), state_scores=detector._state_scores,
                     pc=detector._pc, classes=np.asarray(detector._classes))
        os.replace(tmp, path)
    except OSError:
        pass


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _default() -> LanguageDetector:
    with _LOADING:  # one load even when a post arrives while preload() is still loading
        return _load()


@lru_cache(maxsize=1)
def _load() -> LanguageDetector:
    return LanguageDetector(cache_dir=Settings.from_env().cache_dir)


def preload() -> None:
    """Load the model in a background thread (about 3 s of CPU), so the first post does not wait."""
    threading.Thread(target=_default, name="language-model-load", daemon=True).start()


def detect_language(text: str) -> str:
    """The language of ``text`` with the default detector (loaded once, about a second)."""
    return _default().detect(text)


def detect_languages(texts: Sequence[str]) -> list[str]:
    """The language of each of ``texts``, as :func:`detect_language` names it, detected as one batch."""
    return _default().detect_many(texts)
