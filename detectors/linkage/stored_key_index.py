"""A key index whose posts live in a temporary SQLite file, so a worker's memory does not grow with the feed.

Why it exists: :class:`~trailhound.detectors.linkage.key_index.KeyIndex` keeps every post of its retention
window in Python objects (the post's summary, its key strings in the index and in the expiry heap, its
key in the duplicate guard): about 3 KB a post on a soak feed. The window is a time, not a size, so a
busy feed (a million posts in a few days) would make a worker's memory grow without end.
:class:`StoredKeyIndex` answers every post exactly as ``KeyIndex`` does (it reuses the comparison steps
and a test holds the two to the same links on a generated feed) but keeps its state in SQLite tables:

- ``held``: per key the ids and times of its posts in arrival order, its hub mark and its text groups;
- ``posts``: each post's summary once, with the number of keys still holding it (dropped at zero);
- ``seen``: the posts filed within the window (a post sent twice links nothing new);
- ``filings``: each filing's time and keys, so a sweep visits only the keys of posts that left the window.

SQLite ships with Python (no native dependency to install) and has what the index needs: keyed lookups,
an index by time for the sweep, and a page cache of fixed size (``cache_kib``). The database is SQLite's
*private temporary* database (``connect("")``): it lives in the page cache until that is full, then in
a file that is unlinked at once, so nothing outlives the process, even after ``kill -9``. Durability
is not needed: a worker taking a partition over rebuilds the index by replaying the partition, as it
always did. Resident memory is the page cache plus the ``cached_posts`` most recently used decoded
summaries (and as many posts' text signatures), whatever the feed's rate.

The price is CPU: each batch reads and writes its keys' rows, and a key held by many posts (a template
copied over and over) is a large row rewritten at each copy. ``bench/key_index_memory.py`` measures
both indexes side by side on the soak's feed.
"""

from __future__ import annotations

import sqlite3
import struct
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np
import orjson

from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link, reason_for
from trailhound.detectors.linkage.keys import CONTACT_KINDS, PostSummary, key_kind

__all__ = ["StoredKeyIndex"]

_SCHEMA = (
    "CREATE TABLE held (key TEXT PRIMARY KEY, ids BLOB NOT NULL, stamps BLOB NOT NULL, hub INTEGER NOT NULL,"
    " groups BLOB) WITHOUT ROWID",
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, post_key TEXT NOT NULL, ts REAL NOT NULL,"
    " signature BLOB, body BLOB NOT NULL)",
    "CREATE TABLE seen (post_key TEXT PRIMARY KEY, ts REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX seen_by_time ON seen (ts)",
    "CREATE TABLE filings (ts REAL NOT NULL, keys BLOB NOT NULL)",
    "CREATE INDEX filings_by_time ON filings (ts)",
)
_SIGNATURE_DTYPE = np.uint32
_ID, _TS = struct.Struct("=q"), struct.Struct("=d")  # as array("q") and array("d") hold them


class _Held:
    """One key's row while a post is filed: its posts' ids and times (arrival order), hub mark, text groups."""

    __slots__ = ("groups", "hub", "ids", "stamps")

    def __init__(self, ids: array, stamps: array, hub: bool, groups: bytes | None) -> None:
        self.ids, self.stamps, self.hub, self.groups = ids, stamps, hub, groups

    @classmethod
    def of(cls, post_id: int, ts: float) -> _Held:
        return cls(array("q", (post_id,)), array("d", (ts,)), False, None)

    @classmethod
    def from_row(cls, ids: bytes, stamps: bytes, hub: int, groups: bytes | None) -> _Held:
        held_ids, held_stamps = array("q"), array("d")
        held_ids.frombytes(ids)
        held_stamps.frombytes(stamps)
        return cls(held_ids, held_stamps, bool(hub), groups)

    def row(self, key: str) -> tuple[str, bytes, bytes, int, bytes | None]:
        return key, self.ids.tobytes(), self.stamps.tobytes(), int(self.hub), self.groups


class _Light(PostSummary):
    """A stored post with only what comparing texts needs; read whole if it is linked to."""

    __slots__ = ("post_id",)
    post_id: int

    @classmethod
    def of(cls, post_id: int, post_key: str, ts: float, signature: bytes | None) -> _Light:
        light = cls(post_key=post_key, ts=ts, posted_at="", contact="",
                    signature=None if signature is None else np.frombuffer(signature, _SIGNATURE_DTYPE))
        light.post_id = post_id
        return light


def _row_of(key: str, held: _Held | tuple[int, float]) -> tuple[str, bytes, bytes, int, bytes | None]:
    if isinstance(held, tuple):
        return key, _ID.pack(held[0]), _TS.pack(held[1]), 0, None
    return held.row(key)


def _write(db: sqlite3.Connection, statement: str, rows: list) -> None:
    if rows:
        db.executemany(statement, rows)


def _parts(values: list, size: int = 500) -> Iterator[list]:
    return (values[start:start + size] for start in range(0, len(values), size))


_IN_SIZES = (1, 4, 16, 64, 250, 500)


def _select(db: sqlite3.Connection, head: str, values: list) -> sqlite3.Cursor:
    """``head (?, …)`` with ``values`` (at most 500), padded with repeats to one of a few sizes, so that a few
    statements are prepared (and cached) instead of one per length."""
    size = next(size for size in _IN_SIZES if size >= len(values))
    return db.execute(f"{head} ({','.join('?' * size)})", [*values, *values[-1:] * (size - len(values))])


class StoredKeyIndex(KeyIndex):
    """:class:`KeyIndex` with its state in a temporary SQLite database of bounded page cache (see module).

    Posts are filed a batch at a time (:meth:`observe_batch`, one ``linkage.keys`` record): the batch's key
    rows and duplicate checks are read in one query each, the posts are filed one after another on those
    rows in memory, exactly as ``KeyIndex`` files them, and what changed is written back in one statement
    per table. What is held in memory between batches is the page cache and the recent summaries only.
    """

    def __init__(self, params: KeyIndexParams | None = None, *, cache_kib: int = 8192,
                 cached_posts: int = 4096) -> None:
        self.params = params or KeyIndexParams()
        self.cached_posts = cached_posts
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{int(cache_kib)}"):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute("BEGIN")
        self._summaries: OrderedDict[int, PostSummary] = OrderedDict()  # decoded lately, by post id
        self._light: dict[int, _Light] = {}  # what comparing texts needs of posts read lately
        self._now = 0.0
        self._swept = 0.0
        self._next_id = 0
        self._filing = ""
        self._filing_id = -1
        self._filed: set[str] = set()
        self._compared: set[str] = set()  # post keys of the posts compared with the one being filed
        self._compared_ids: set[int] = set()  # and their ids
        self._batches_since_commit = 0
        # the batch being filed: rows read or changed (None: the key has none), and what is to be written
        self._rows: dict[str, _Held | tuple[int, float] | None] = {}  # (post id, time): held by one post
        self._dirty: set[str] = set()
        self._in_db: set[str] = set()  # keys of the batch that have a row in the database
        self._seen_known: dict[str, bool] = {}
        self._new_posts: dict[int, PostSummary] = {}
        self._refs: dict[int, int] = defaultdict(int)
        self._new_filings: list[tuple[float, bytes]] = []

    def close(self) -> None:
        """Drop the database (its file is gone with the connection)."""
        self._db.close()
        self._summaries.clear()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM held").fetchone()[0])

    def hubs(self) -> list[str]:
        return [key for (key,) in self._db.execute("SELECT key FROM held WHERE hub ORDER BY key")]

    def observe_keys(self, post: PostSummary, keys: Iterable[str]) -> list[Link | HubKey]:
        return self.observe_batch([(post, keys)])

    def observe_batch(self, items: Iterable[tuple[PostSummary, Iterable[str]]]) -> list[Link | HubKey]:
        """File each post under its keys, in order (:meth:`KeyIndex.observe_keys` one after another)."""
        batch = [(post, tuple(keys)) for post, keys in items]
        self._read_ahead((key for _, keys in batch for key in keys), (post.post_key for post, _ in batch))
        events: list[Link | HubKey] = []
        for post, keys in batch:
            events.extend(self._file(post, keys))
        self._write_back()
        return events

    def _read_ahead(self, keys: Iterable[str], post_keys: Iterable[str] = ()) -> None:
        """Read the rows of ``keys`` and which of ``post_keys`` were filed before, a query each."""
        for part in _parts([key for key in dict.fromkeys(keys) if key not in self._rows]):
            self._rows.update(dict.fromkeys(part))
            found = {key: _Held.from_row(*rest) for key, *rest in _select(
                self._db, "SELECT key, ids, stamps, hub, groups FROM held WHERE key IN", part)}
            self._rows.update(found)
            self._in_db.update(found)
        for part in _parts([key for key in dict.fromkeys(post_keys) if key not in self._seen_known]):
            self._seen_known.update(dict.fromkeys(part, False))
            self._seen_known.update((key, True) for (key,) in _select(
                self._db, "SELECT post_key FROM seen WHERE post_key IN", part))

    def _row(self, key: str) -> _Held | None:
        if key not in self._rows:
            self._read_ahead((key,))
        held = self._rows[key]
        return _Held.of(*held) if isinstance(held, tuple) else held

    def _was_seen(self, post_key: str) -> bool:
        if post_key not in self._seen_known:
            self._read_ahead((), (post_key,))
        return self._seen_known[post_key]

    def _file(self, post: PostSummary, keys: tuple[str, ...]) -> list[Link | HubKey]:
        """:meth:`KeyIndex.observe_keys` on the batch's rows."""
        if post.ts > self._now:
            self._now = post.ts
            if self._now - self._swept > self.params.retention_s / self.SWEEPS_PER_WINDOW:
                self.sweep()
        if post.post_key != self._filing:
            if self._was_seen(post.post_key):
                return []  # the same post again (ingested twice): it links nothing new
            self._filing, self._filed, self._compared, self._compared_ids = post.post_key, set(), set(), set()
            self._filing_id = self._add_post(post)
        self._new_filings.append((post.ts, orjson.dumps(keys)))
        wanted = [key for key in dict.fromkeys(keys) if key not in self._filed]
        post_id = self._filing_id
        dropped: list[int] = []
        single = (post_id, post.ts)
        events: list[Link | HubKey] = []
        bands: list[tuple[int, str, list[PostSummary]]] = []
        for key in wanted:
            self._filed.add(key)
            self._dirty.add(key)
            held = self._row(key)
            if held is not None:
                held = self._fresh(held, dropped)
            if held is None:
                self._rows[key] = single  # most keys (text bands above all): written as is, unless met again
                continue
            kind = key_kind(key)
            if kind == "text":
                fresh = self._text_candidates(held.ids, post)
                if fresh:
                    bands.append((len(events), key, fresh))
            elif kind == "image" or kind in CONTACT_KINDS:
                distinct = self._track_groups(held, post)
                if distinct:
                    events.append(HubKey(key, distinct, len(held.ids) + 1))
                if not held.hub:
                    if kind == "image":
                        events.extend(self._image_links(key, self._posts_of(held.ids), post))
                    else:
                        events.append(Link(self._posts_of(held.ids[:1])[0], post, key, reason_for(key)))
            held.ids.append(post_id)
            held.stamps.append(post.ts)
            cap = self.params.max_posts_per_key
            if len(held.ids) > cap:
                dropped.extend(held.ids[:-cap])
                held.ids, held.stamps = held.ids[-cap:], held.stamps[-cap:]
            self._rows[key] = held
        self._refs[post_id] += len(wanted)
        for other in dropped:
            self._refs[other] -= 1
        if bands:
            events = [replace(e, a=self._posts_of((e.a.post_id,))[0]) if isinstance(e, Link) and isinstance(e.a, _Light)
                      else e for e in self._with_text_links(events, bands, post)]
        return events

    def _add_post(self, post: PostSummary) -> int:
        post_id = self._next_id
        self._next_id += 1
        self._seen_known[post.post_key] = True
        self._new_posts[post_id] = post
        self._remember(post_id, post)
        return post_id

    def _write_back(self) -> None:
        """Write what the batch changed, a statement per table, and forget the batch's rows."""
        db, refs, new_posts = self._db, self._refs, self._new_posts
        _write(db, "INSERT OR REPLACE INTO seen VALUES (?, ?)", [(p.post_key, p.ts) for p in new_posts.values()])
        _write(db, "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?)", [
            (post_id, refs.pop(post_id, 0), post.post_key, post.ts,
             None if post.signature is None else np.asarray(post.signature, _SIGNATURE_DTYPE).tobytes(),
             orjson.dumps(post.to_json(with_signature=False)))
            for post_id, post in new_posts.items() if refs.get(post_id, 0) > 0 or post_id == self._filing_id])
        changes = [(change, post_id) for post_id, change in refs.items() if change and post_id not in new_posts]
        _write(db, "UPDATE posts SET refs = refs + ? WHERE id = ?", changes)
        _write(db, "DELETE FROM posts WHERE id = ? AND refs <= 0", [(post_id,) for change, post_id in changes
                                                                     if change < 0])
        rows, in_db, dirty = self._rows, self._in_db, sorted(self._dirty)  # in key order: fewer pages visited
        written = {key: _row_of(key, held) for key in dirty if (held := rows[key]) is not None}
        _write(db, "UPDATE held SET ids = ?2, stamps = ?3, hub = ?4, groups = ?5 WHERE key = ?1",
               [row for key, row in written.items() if key in in_db])
        _write(db, "INSERT INTO held VALUES (?, ?, ?, ?, ?)", [row for key, row in written.items() if key not in in_db])
        _write(db, "DELETE FROM held WHERE key = ?", [(key,) for key in dirty if key in in_db and rows[key] is None])
        _write(db, "INSERT INTO filings VALUES (?, ?)", self._new_filings)
        for batch_state in (self._rows, self._in_db, self._dirty, self._seen_known, self._new_posts, self._refs,
                            self._new_filings):
            batch_state.clear()
        self._batches_since_commit += 1
        if self._batches_since_commit >= 100:
            db.execute("COMMIT")
            db.execute("BEGIN")
            self._batches_since_commit = 0

    def _fresh(self, held: _Held, dropped: list[int]) -> _Held | None:
        """``held`` without the posts that left the window (when its oldest did, as ``KeyIndex._held``); None
        when none is left, which also forgets the key's hub mark and text groups."""
        horizon = self._now - self.params.retention_s
        if held.stamps[0] >= horizon:
            return held
        ids, stamps = array("q"), array("d")
        for post_id, ts in zip(held.ids, held.stamps, strict=True):
            if ts >= horizon:
                ids.append(post_id)
                stamps.append(ts)
            else:
                dropped.append(post_id)
        if not ids:
            return None
        held.ids, held.stamps = ids, stamps
        return held

    def _track_groups(self, held: _Held, post: PostSummary) -> int:
        """:meth:`KeyIndex._track_texts` on a stored row: the number of text groups when the key just became a
        hub, else 0."""
        if held.hub or post.signature is None:
            return 0
        if held.groups is None:
            first = self._posts_of(held.ids[:1])[0].signature
            held.groups = b"" if first is None else np.asarray(first, _SIGNATURE_DTYPE).tobytes()
        signature = np.asarray(post.signature, _SIGNATURE_DTYPE)
        groups = np.frombuffer(held.groups, _SIGNATURE_DTYPE).reshape(-1, len(signature))
        similar = self.params.text_group_similarity
        if len(groups) and (np.count_nonzero(groups == signature, axis=1) / len(signature) >= similar).any():
            return 0
        held.groups += signature.tobytes()
        if len(groups) + 1 < self.params.hub_min_texts:
            return 0
        held.hub, held.groups = True, None  # no longer needed: a hub stays a hub while the key is held
        return len(groups) + 1

    def _text_candidates(self, ids: array, post: PostSummary) -> list[PostSummary]:
        """:meth:`KeyIndex._candidates` for the posts ``ids``: those of a post not yet compared with ``post``.

        Only the posts not met in an earlier band are read, and only what comparing needs (key, time,
        signature); a post linked to is read whole afterwards."""
        if post.signature is None:
            return []
        new_ids = [post_id for post_id in ids if post_id not in self._compared_ids]
        if not new_ids:
            return []
        self._compared_ids.update(new_ids)
        held = self._comparable(new_ids)
        new = {other.post_key for other in held} - self._compared
        if not new:
            return []
        self._compared |= new
        return [other for other in held if other.signature is not None and other.post_key in new]

    def _comparable(self, ids: list[int]) -> list[PostSummary]:
        """The posts ``ids`` in order: decoded lately, or as :class:`_Light` (key, time and signature)."""
        known, new, light, found, missing = self._summaries, self._new_posts, self._light, {}, []
        for post_id in ids:
            summary = known.get(post_id) or new.get(post_id) or light.get(post_id)
            if summary is None:
                missing.append(post_id)
            else:
                found[post_id] = summary
        for part in _parts(missing):
            for post_id, post_key, ts, signature in _select(
                    self._db, "SELECT id, post_key, ts, signature FROM posts WHERE id IN", part):
                found[post_id] = light[post_id] = _Light.of(post_id, post_key, ts, signature)
        while len(light) > self.cached_posts:
            del light[next(iter(light))]  # the longest held (a cache by age, not by use: cheaper, as good here)
        return [found[post_id] for post_id in ids]

    def _posts_of(self, ids: Iterable[int]) -> list[PostSummary]:
        """The summaries of ``ids``, in order: decoded lately or read from the database."""
        known, new, found, missing = self._summaries, self._new_posts, {}, []
        for post_id in ids:
            summary = known.get(post_id)
            if summary is not None:
                known.move_to_end(post_id)
                found[post_id] = summary
            elif post_id in new:
                found[post_id] = new[post_id]
            else:
                missing.append(post_id)
        for part in _parts(missing):
            for post_id, signature, body in _select(
                    self._db, "SELECT id, signature, body FROM posts WHERE id IN", part):
                summary = found[post_id] = PostSummary.from_json(orjson.loads(body))
                if signature is not None:
                    summary.signature = np.frombuffer(signature, _SIGNATURE_DTYPE)
                self._remember(post_id, summary)
        return [found[post_id] for post_id in ids]

    def _remember(self, post_id: int, summary: PostSummary) -> None:
        self._summaries[post_id] = summary
        if len(self._summaries) > self.cached_posts:
            self._summaries.popitem(last=False)

    def sweep(self) -> None:
        """Drop posts older than the retention window and keys left with none, as :meth:`KeyIndex.sweep`."""
        self._write_back()  # the batch so far, so the sweep sees it (its rows are read again afterwards)
        self._swept = self._now
        horizon = self._now - self.params.retention_s
        db = self._db
        db.execute("DELETE FROM seen WHERE ts < ?", (horizon,))
        keys = {key for (raw,) in db.execute("SELECT keys FROM filings WHERE ts < ?", (horizon,))
                for key in orjson.loads(raw)}
        db.execute("DELETE FROM filings WHERE ts < ?", (horizon,))
        dropped: list[int] = []
        for part in _parts(sorted(keys)):
            self._read_ahead(part)
            for key in part:
                held = self._row(key)
                if held is not None and held.stamps[0] < horizon:
                    self._rows[key] = self._fresh(held, dropped)
                    self._dirty.add(key)
        for post_id in dropped:
            self._refs[post_id] -= 1
        self._write_back()
