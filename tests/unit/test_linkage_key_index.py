"""The key owner links posts that share a key, explains why, and refuses to let a hub glue posts."""

from __future__ import annotations

from tests.linkage_posts import summary, unrelated_text
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link

TEXT = "new in town this week ask for her call any hour outcall only discreet friendly first week in the area"


def links(events: list) -> list[Link]:
    return [e for e in events if isinstance(e, Link)]


def test_posts_sharing_a_phone_link_with_the_reason() -> None:
    index = KeyIndex()
    first = summary(TEXT, phone="+12125550112")
    assert index.observe("phone:+12125550112", first) == []
    second = summary(TEXT, phone="+12125550112", day=1)
    (link,) = links(index.observe("phone:+12125550112", second))
    assert (link.a.post_key, link.b.post_key, link.reason) == (first.post_key, second.post_key, "same phone")


def test_a_replayed_post_links_nothing_new() -> None:
    index = KeyIndex()
    post = summary(TEXT, phone="+12125550112")
    index.observe("phone:+12125550112", summary(TEXT, phone="+12125550112"))
    assert links(index.observe("phone:+12125550112", post))
    assert index.observe("phone:+12125550112", post) == []


def test_text_band_links_only_verified_near_duplicates() -> None:
    params = KeyIndexParams(text_threshold=0.6)
    index = KeyIndex(params)
    a = summary(TEXT)
    near = summary(TEXT.replace("friendly", "kind"))
    far = summary(unrelated_text(3))
    index.observe("text:0:x", a)
    assert links(index.observe("text:0:x", far)) == []  # same bucket by chance, but not similar
    (link,) = links(index.observe("text:0:x", near))
    assert link.reason.startswith("text 0.") and link.reason.endswith(" similar")
    assert 0.6 <= link.similarity < 1.0


def test_text_threshold_is_respected() -> None:
    a, b = summary(TEXT), summary(TEXT.replace("friendly", "kind").replace("outcall", "incall"))
    assert a.signature is not None and b.signature is not None
    from trailhound.detectors.linkage.keys import text_similarity
    similarity = text_similarity(a.signature, b.signature)
    below = KeyIndex(KeyIndexParams(text_threshold=similarity + 0.01))
    below.observe("text:1:y", a)
    assert links(below.observe("text:1:y", b)) == []
    at = KeyIndex(KeyIndexParams(text_threshold=similarity))
    at.observe("text:1:y", a)
    assert links(at.observe("text:1:y", b))


def test_images_link_within_the_radius_only() -> None:
    index = KeyIndex(KeyIndexParams(image_radius=3))
    base = 0x0123456789ABCDEF
    index.observe("image:0:cdef", summary(phash=base))
    (same,) = links(index.observe("image:0:cdef", summary(phash=base)))
    assert same.reason == "same image"
    (near,) = links(index.observe("image:0:cdef", summary(phash=base ^ (1 << 30) ^ (1 << 50) ^ (1 << 60))))
    assert near.reason == "similar image (3 bits apart)"
    assert links(index.observe("image:0:cdef", summary(phash=base ^ 0xF0000000))) == []


def test_a_hub_number_stops_linking_once_shared_by_many_unrelated_texts() -> None:
    params = KeyIndexParams(hub_min_texts=5)
    index = KeyIndex(params)
    events = []
    for n in range(8):
        events.extend(index.observe("phone:+17025550100", summary(unrelated_text(n), phone="+17025550100")))
    hubs = [e for e in events if isinstance(e, HubKey)]
    assert len(hubs) == 1 and hubs[0].key == "phone:+17025550100" and hubs[0].distinct_texts == 5
    assert "hub" in hubs[0].note
    assert len(links(events)) == 3  # the 2nd to 4th post linked before the 5th text made it a hub
    assert index.hubs() == ["phone:+17025550100"]


def test_one_advertiser_reposting_similar_texts_is_not_a_hub() -> None:
    index = KeyIndex(KeyIndexParams(hub_min_texts=3))
    events = []
    for n in range(10):
        events.extend(index.observe("phone:+1", summary(TEXT + f" special {n}", phone="+1")))
    assert not [e for e in events if isinstance(e, HubKey)]
    assert len(links(events)) == 9


def test_retention_forgets_old_posts_and_keys() -> None:
    index = KeyIndex(KeyIndexParams(retention_s=10 * 86_400))
    index.observe("phone:+1", summary(TEXT, phone="+1", day=0))
    assert links(index.observe("phone:+1", summary(TEXT, phone="+1", day=11))) == []
    index.observe("phone:+2", summary(TEXT, phone="+2", day=12))
    index.observe("phone:+3", summary(TEXT, phone="+3", day=30))
    index.sweep()
    assert len(index) == 1


def test_posts_per_key_are_capped() -> None:
    index = KeyIndex(KeyIndexParams(max_posts_per_key=3))
    first = summary(TEXT, phone="+1")
    index.observe("phone:+1", first)
    for _ in range(3):
        index.observe("phone:+1", summary(TEXT, phone="+1"))
    (link,) = links(index.observe("phone:+1", summary(TEXT, phone="+1")))
    assert link.a.post_key != first.post_key


def test_a_text_links_to_at_most_the_allowed_number_of_look_alikes() -> None:
    for most in (1, 3):
        index = KeyIndex(KeyIndexParams(max_text_links=most))
        for _ in range(5):
            index.observe("text:0:x", summary(TEXT))
        assert len(links(index.observe("text:0:x", summary(TEXT)))) == most


def test_texts_count_as_unrelated_only_below_the_group_similarity() -> None:
    lenient = KeyIndex(KeyIndexParams(hub_min_texts=3, text_group_similarity=0.0))
    events = []
    for n in range(6):
        events.extend(lenient.observe("phone:+1", summary(unrelated_text(n), phone="+1")))
    assert not [e for e in events if isinstance(e, HubKey)]
