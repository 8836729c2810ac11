"""Per-partner outbox lanes and backlogs: commits go as far as what is recorded; a slow partner holds no other."""

from __future__ import annotations

import asyncio
from typing import Any

from trailhound.alerts.delivery_store import DeliveryStore
from trailhound.alerts.partners import parse_routing
from trailhound.config import Settings
from trailhound.streams import escalator as module
from trailhound.streams.outbox_lanes import LaneItem, OffsetTracker, PartnerLane


def test_a_partition_commits_up_to_its_oldest_unfinished_record_and_no_further():
    offsets: OffsetTracker[str] = OffsetTracker()
    for n in range(5):
        offsets.read("p0", n)
    offsets.done("p0", 1)
    offsets.done("p0", 2)
    assert offsets.committable() == {}  # offset 0 (a slow lane's) is not recorded yet
    offsets.done("p0", 0)
    assert offsets.committable() == {"p0": 3}
    offsets.done("p0", 4)
    assert offsets.committable() == {"p0": 3}  # 3 still holds back 4
    offsets.done("p0", 3)
    assert offsets.committable() == {"p0": 5}
    assert offsets.unfinished() == 0


def test_an_unfinished_record_holds_back_only_its_own_partition():
    offsets: OffsetTracker[str] = OffsetTracker()
    offsets.read("p0", 10)
    offsets.read("p1", 20)
    offsets.read("p1", 21)
    offsets.done("p1", 21)
    offsets.done("p1", 20)
    assert offsets.committable() == {"p1": 22}
    assert offsets.unfinished() == 1


def test_a_commit_is_offered_once_and_a_forgotten_partition_is_dropped():
    offsets: OffsetTracker[str] = OffsetTracker()
    offsets.read("p0", 0)
    offsets.read("p1", 0)
    offsets.done("p0", 0)
    offsets.done("p1", 0)
    assert offsets.committable() == {"p0": 1, "p1": 1}
    offsets.committed({"p0": 1})
    assert offsets.committable() == {"p1": 1}  # a failed commit of p1 is offered again
    offsets.forget(["p1"])
    offsets.done("p1", 5)  # a lane finishing a record of a revoked partition changes nothing
    assert offsets.committable() == {}
    offsets.read("p0", 1)
    offsets.done("p0", 1)
    assert offsets.committable() == {"p0": 2}


async def test_a_lane_whose_writes_hang_does_not_hold_back_another_lanes_records_or_commits():
    offsets: OffsetTracker[str] = OffsetTracker()
    slow_release = asyncio.Event()
    recorded: dict[str, list[Any]] = {"slow": [], "fast": []}

    def accept(name: str):
        async def write(payloads: list[Any]) -> None:
            if name == "slow":
                await slow_release.wait()
            recorded[name].extend(payloads)
        return write

    slow = PartnerLane("slow", accept("slow"), offsets, max_queued=10)
    fast = PartnerLane("fast", accept("fast"), offsets, max_queued=10)
    try:
        # one partition, records of both partners interleaved: slow at 0, 2, 4; fast at 1, 3, 5
        for n in range(6):
            offsets.read("p0", n)
            lane = slow if n % 2 == 0 else fast
            await lane.put(LaneItem("p0", n, f"{lane.partner}-{n}"))
        for _ in range(50):
            if len(recorded["fast"]) == 3:
                break
            await asyncio.sleep(0.01)
        assert recorded == {"slow": [], "fast": ["fast-1", "fast-3", "fast-5"]}
        assert offsets.committable() == {}  # offset 0 is the slow lane's, not recorded yet
        slow_release.set()
        for _ in range(50):
            if offsets.committable():
                break
            await asyncio.sleep(0.01)
        assert recorded["slow"] == ["slow-0", "slow-2", "slow-4"]
        assert offsets.committable() == {"p0": 6}
    finally:
        await slow.close()
        await fast.close()


async def test_a_failed_write_is_tried_again_and_its_records_are_committed_only_after_it_succeeds(monkeypatch):
    monkeypatch.setattr("trailhound.streams.outbox_lanes.RETRY_S", 0.01)
    offsets: OffsetTracker[str] = OffsetTracker()
    calls: list[list[Any]] = []

    async def flaky(payloads: list[Any]) -> None:
        calls.append(list(payloads))
        if len(calls) == 1:
            assert offsets.committable() == {}
            raise RuntimeError("elasticsearch away")

    lane = PartnerLane("p", flaky, offsets, max_queued=10)
    try:
        offsets.read("p0", 0)
        await lane.put(LaneItem("p0", 0, "x"))
        for _ in range(100):
            if offsets.committable():
                break
            await asyncio.sleep(0.01)
        assert calls == [["x"], ["x"]]
        assert offsets.committable() == {"p0": 1}
    finally:
        await lane.close()


async def test_a_partner_with_a_full_backlog_gets_no_more_delivery_tasks_until_one_finishes(monkeypatch):
    monkeypatch.setattr(module, "MAX_BACKLOG", 2)
    routing = parse_routing({"partners": {
        "slow": {"secret_env": "TRAILHOUND_SECRET_SLOW", "webhook": {"url": "http://127.0.0.1:9/s"}},
        "fast": {"secret_env": "TRAILHOUND_SECRET_FAST", "webhook": {"url": "http://127.0.0.1:9/f"}}},
        "rules": []}, {"TRAILHOUND_SECRET_SLOW": "s" * 40, "TRAILHOUND_SECRET_FAST": "f" * 40})
    escalator = module.Escalator(Settings.from_env({}), routing, es=None, producer=None)  # type: ignore[arg-type]
    release = asyncio.Event()
    started: list[str] = []

    async def deliver(delivery_id: str, partner_id: str, held: object = None) -> None:
        started.append(delivery_id)
        await release.wait()

    monkeypatch.setattr(escalator, "deliver", deliver)
    for n in range(3):
        escalator.schedule(f"s{n}", "slow")
    escalator.schedule("f0", "fast")  # another partner's backlog is its own
    await asyncio.sleep(0)
    assert started == ["s0", "s1", "f0"] and escalator.backlog["slow"] == 2
    release.set()
    await asyncio.gather(*escalator.inflight.values())
    assert escalator.backlog == {"slow": 0, "fast": 0} and not escalator.inflight
    escalator.schedule("s2", "slow")  # the sweeper offers it again once the partner caught up
    await asyncio.gather(*escalator.inflight.values())
    assert started[-1] == "s2"


class _Bulk:
    """An Elasticsearch stand-in that records each bulk request and answers every action with success."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.fail = fail

    async def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(operations)
        if self.fail:
            raise ConnectionError("elasticsearch away")
        actions = operations[::2]
        return {"items": [{kind: {"_id": meta["_id"], "status": 201 if kind == "create" else 200,
                                  "_seq_no": n, "_primary_term": 1}}
                          for n, line in enumerate(actions) for kind, meta in line.items()]}


def _state(delivery_id: str, partner: str) -> dict[str, Any]:
    return {"delivery_id": delivery_id, "partner": partner, "state": "pending"}


async def test_a_lingering_partners_state_writes_ride_in_the_next_prompt_request_and_a_lone_one_goes_when_due():
    es = _Bulk()
    store = DeliveryStore(Settings.from_env({}), es)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    slow = asyncio.ensure_future(store.create_many([_state("s0", "slow")], wait_s=5.0))
    await asyncio.sleep(0.05)
    assert es.requests == []  # the slow partner's write waits…
    started = loop.time()
    fast = await store.create_many([_state("f0", "fast"), _state("f1", "fast")], wait_s=0.0)
    assert loop.time() - started < 1.0  # …the fast one does not…
    assert len(es.requests) == 1  # …and takes it along: one request for both partners
    assert [line["create"]["_id"] for line in es.requests[0][::2]] == ["s0", "f0", "f1"]
    assert [h.id for h in fast] == ["f0", "f1"] and [h.id for h in await slow] == ["s0"]
    assert [h.seq_no for h in fast] == [1, 2]  # each write gets its own outcomes
    alone = asyncio.ensure_future(store.create_many([_state("s1", "slow")], wait_s=0.2))
    await asyncio.sleep(0.1)
    assert len(es.requests) == 1
    assert [h.id for h in await alone] == ["s1"] and len(es.requests) == 2  # with no company, when due


async def test_settled_outcomes_share_the_request_of_the_writes_due_with_them_and_a_failed_request_fails_all():
    es = _Bulk()
    store = DeliveryStore(Settings.from_env({}), es)  # type: ignore[arg-type]
    held = await store.create_many([_state("s0", "slow"), _state("f0", "fast")])
    await asyncio.gather(store.settle(held[0], "delivered", batch_s=0.5),
                         store.create_many([_state("f1", "fast")]))
    assert len(es.requests) == 2
    assert [next(iter(line)) for line in es.requests[1][::2]] == ["index", "create"]
    assert es.requests[1][1]["state"] == "delivered" and es.requests[1][0]["index"]["if_seq_no"] == 0
    es.fail = True
    outcomes = await asyncio.gather(store.settle(held[1], "delivered", batch_s=0.5),
                                    store.create_many([_state("f2", "fast")]), return_exceptions=True)
    assert len(es.requests) == 3 and all(isinstance(o, ConnectionError) for o in outcomes)


def test_a_partners_linger_is_a_small_share_of_its_answer_time_within_bounds():
    routing = parse_routing({"partners": {
        "p": {"secret_env": "TRAILHOUND_SECRET_P", "webhook": {"url": "http://127.0.0.1:9/p"}}}, "rules": []},
        {"TRAILHOUND_SECRET_P": "p" * 40})
    escalator = module.Escalator(Settings.from_env({}), routing, es=None, producer=None)  # type: ignore[arg-type]
    assert escalator.linger_s("p") == 0.0  # no answer seen yet: write at once
    escalator._answered("p", 0.05)
    assert escalator.linger_s("p") == 0.0  # 5% of 50 ms is not worth a wait
    escalator.answer_s["p"] = 4.0
    assert escalator.linger_s("p") == module.LINGER_SHARE * 4.0
    escalator._answered("p", 10.0)  # the running average moves a fifth of the way
    assert escalator.answer_s["p"] == 0.2 * 10.0 + 0.8 * 4.0
    escalator.answer_s["p"] = 60.0
    assert escalator.linger_s("p") == module.MAX_LINGER_S


def test_a_partner_that_has_not_answered_for_a_while_lingers_as_one_that_answers_that_late(monkeypatch):
    routing = parse_routing({"partners": {
        "p": {"secret_env": "TRAILHOUND_SECRET_P", "webhook": {"url": "http://127.0.0.1:9/p"}}}, "rules": []},
        {"TRAILHOUND_SECRET_P": "p" * 40})
    escalator = module.Escalator(Settings.from_env({}), routing, es=None, producer=None)  # type: ignore[arg-type]
    monkeypatch.setattr(module.time, "monotonic", lambda: 1000.0)
    escalator.open_since["p"].update({1: 996.0, 2: 999.5})  # no answer yet; the oldest request open for 4 s
    assert escalator.linger_s("p") == module.LINGER_SHARE * 4.0
    escalator.answer_s["p"] = 8.0  # a longer running average wins
    assert escalator.linger_s("p") == module.LINGER_SHARE * 8.0


async def test_the_sweeper_reads_back_its_own_deliveries_only_when_some_may_have_no_task(monkeypatch):
    monkeypatch.setattr(module, "MAX_BACKLOG", 1)
    routing = parse_routing({"partners": {
        "p": {"secret_env": "TRAILHOUND_SECRET_P", "webhook": {"url": "http://127.0.0.1:9/p"}}}, "rules": []},
        {"TRAILHOUND_SECRET_P": "p" * 40})
    escalator = module.Escalator(Settings.from_env({}), routing, es=None, producer=None)  # type: ignore[arg-type]
    asked: list[bool] = []

    async def claimable(owner: str, now: float, own: bool = True) -> list[tuple[str, str]]:
        asked.append(own)
        return []

    async def nothing(*_: object) -> None:
        return None

    release = asyncio.Event()

    async def deliver(delivery_id: str, partner_id: str, held: object = None) -> None:
        await release.wait()

    monkeypatch.setattr(escalator.store, "claimable", claimable)
    monkeypatch.setattr(escalator, "_next_tiers", nothing)
    monkeypatch.setattr(escalator, "_count_parked", nothing)
    monkeypatch.setattr(escalator, "deliver", deliver)
    await escalator.sweep()  # at start: a restart under the same owner name resumes its own
    await escalator.sweep()  # everything it holds has a task
    escalator.schedule("d0", "p")
    escalator.schedule("d1", "p")  # the backlog is full: d1 stays pending for a later sweep
    await escalator.sweep()
    await escalator.sweep()
    assert asked == [True, False, True, False]
    release.set()
    await asyncio.gather(*escalator.inflight.values())
