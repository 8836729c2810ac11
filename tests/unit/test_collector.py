"""The stream processes collect young objects less often than Python's default, with start-up frozen."""

from __future__ import annotations

import gc

from trailhound.streams.collector import YOUNG_COLLECTION_OBJECTS, settle_collector


def test_settling_freezes_start_up_and_lets_a_batch_of_objects_die_before_the_collector_scans_them():
    before = gc.get_threshold()
    try:
        settle_collector()
        assert gc.get_freeze_count() > 0
        young, middle, old = gc.get_threshold()
        assert young == YOUNG_COLLECTION_OBJECTS > 10 * before[0]
        assert (middle, old) == before[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
