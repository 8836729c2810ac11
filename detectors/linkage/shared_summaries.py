"""One summary object per post for all the key indexes of a worker.

Why it exists: a post's linkage keys are spread over the partitions of ``linkage.keys`` (each key goes
to the partition that owns it), so a post arrives once per partition it has keys in — about four times
with four partitions — and each partition's :class:`~trailhound.detectors.linkage.key_index.KeyIndex`
keeps the summary it decoded for the whole retention window. On a soak feed that was four copies of each
post's summary, text signature and strings (about 2.5 KB a post of the key indexes' 6.4 KB). Summaries
are never changed once made, so the indexes of one worker can share one: a record whose post is the
same, field for field, as one decoded lately gets that object back. A post sent again with other
content (edited, re-scored) is decoded on its own, so what each index holds is exactly what it was sent.

Only the last ``size`` posts are remembered: a post's records are produced together and the partitions
are read at about the same pace; a record arriving later than that is decoded again, which costs memory
and never changes a link.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from trailhound.detectors.linkage.keys import PostSummary

__all__ = ["SharedSummaries"]


class SharedSummaries:
    """Decodes ``linkage.keys`` posts, handing back the same :class:`PostSummary` for the same post."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._recent: OrderedDict[str, tuple[dict[str, Any], PostSummary]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._recent)

    def summary(self, data: dict[str, Any]) -> PostSummary:
        """The summary of ``data`` (a record's ``post``), shared with an earlier record of the same post."""
        post_key = data["post_key"]
        known = self._recent.get(post_key)
        if known is not None and known[0] == data:
            return known[1]
        summary = PostSummary.from_json(data)
        self._recent[post_key] = (data, summary)
        self._recent.move_to_end(post_key)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)
        return summary
