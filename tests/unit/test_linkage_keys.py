"""Linkage keys: contacts normalised, text signatures blind to contact details, image chunks (MIH)."""

from __future__ import annotations

from trailhound.detectors.linkage.keys import (
    IMAGE_RADIUS,
    TextSigner,
    image_keys,
    linkage_keys,
    summarise,
    text_similarity,
)
from trailhound.streams.enrich import enrich_post

TEMPLATE = ("Just arrived in {city}: new girl in town, ask for {name}, I book for her. Call {phone} "
            "any hour, outcall only, discreet and friendly, first week in the area")


def enriched(body: str, **extra: object) -> dict:
    post = {"id": extra.pop("id", "1"), "source": "t.example", "posted_at": "2025-01-01T00:00:00Z", "body": body}
    post.update(extra)
    return enrich_post(post, 0.0)


def test_the_same_number_written_evasively_gives_the_same_phone_key() -> None:
    plain = summarise(enriched("call 212-555-0112 now"), (), (), 0.0)
    evasive = summarise(enriched("call two one two five five five O one one two now"), (), (), 0.0)
    assert "phone:+12125550112" in linkage_keys(plain)
    assert "phone:+12125550112" in linkage_keys(evasive)


def test_template_under_different_phones_and_names_keeps_its_text_bands() -> None:
    a = summarise(enriched(TEMPLATE.format(city="Denver", name="Luna", phone="212-555-0112")), (), (), 0.0)
    b = summarise(enriched(TEMPLATE.format(city="Denver", name="Mia", phone="(305) 555-0187")), (), (), 0.0)
    assert a.signature is not None and b.signature is not None
    assert text_similarity(a.signature, b.signature) >= 0.75
    shared = {k for k in linkage_keys(a) if k.startswith("text:")} & set(linkage_keys(b))
    assert shared


def test_unrelated_texts_share_no_text_band() -> None:
    signer = TextSigner()
    a = signer.signature("fresh produce delivered daily from our farm to your kitchen door every morning")
    b = signer.signature("licensed plumber available for repairs of pipes boilers and heating systems in town")
    assert a is not None and b is not None
    assert text_similarity(a, b) < 0.2
    assert not set(TextSigner.band_keys(a)) & set(TextSigner.band_keys(b))


def test_too_short_a_text_gets_no_signature() -> None:
    assert TextSigner().signature("call me now") is None


def test_image_hashes_within_the_radius_share_a_chunk_key() -> None:
    base = 0x0123456789ABCDEF
    near = base ^ 0b1 ^ (1 << 20) ^ (1 << 40)  # IMAGE_RADIUS bits, one per chunk but the last
    assert IMAGE_RADIUS == 3
    assert set(image_keys(base)) & set(image_keys(near))
    far = base ^ 1 ^ (1 << 17) ^ (1 << 33) ^ (1 << 49)  # one bit in every chunk
    assert not set(image_keys(base)) & set(image_keys(far))


def test_summary_round_trips_through_json() -> None:
    summary = summarise(enriched(TEMPLATE.format(city="Denver", name="Luna", phone="212-555-0112"),
                                 images=[{"phash": "0123456789abcdef"}], location={"city": "Denver"}),
                        ("youth", "control", "price"), {"price"}, 0.8)
    again = type(summary).from_json(summary.to_json())
    assert again.link_keys() == summary.link_keys()
    assert (again.city, again.harm, again.phashes) == ("Denver", ("control", "youth"), (0x0123456789ABCDEF,))
    assert again.categories == ("control", "price", "youth")


def test_a_whatsapp_handle_that_is_part_of_a_number_is_no_key() -> None:
    post = summarise(enriched("hello gentlemen, new girl in town tonight, whatsapp 8one8 five five five"), (), (), 0.0)
    post.handles = ("whatsapp:8one8", "whatsapp:+12125550112", "telegram:luna_x")
    keys = linkage_keys(post)
    assert "handle:whatsapp:8one8" not in keys
    assert {"handle:whatsapp:+12125550112", "handle:telegram:luna_x"} <= set(keys)


def test_the_city_an_ad_names_is_masked_like_its_phone() -> None:
    text = ("Just arrived in {city} for two days only, new girl in town, ask for Luna, "
            "outcall only, discreet and friendly, first week in the area")
    a = summarise(enriched(text.format(city="Denver")), (), (), 0.0)
    b = summarise(enriched(text.format(city="Phoenix")), (), (), 0.0)
    assert a.signature is not None and b.signature is not None
    assert text_similarity(a.signature, b.signature) == 1.0


def test_signature_is_datasketchs_minhash() -> None:
    """The vectorised signature is bit for bit datasketch's affine32 MinHash of the CRC-32'd shingles, so
    links and band keys (and the partitions they route to) are what datasketch would give."""
    import zlib

    import numpy as np
    from datasketch import MinHash

    from trailhound.detectors.linkage.keys import _PERMUTATIONS, NUM_PERM, SHINGLE_WORDS

    reference = MinHash(num_perm=NUM_PERM, permutations=_PERMUTATIONS, scheme="affine32", hashfunc=zlib.crc32)
    for text in ("just arrived new girl in town ask for her any hour outcall only discreet and friendly",
                 "fresh produce delivered daily from our farm to your kitchen door every morning and evening",
                 "große auswahl an möbeln für ihr zuhause jeden tag frisch geliefert direkt zu ihnen nach hause"):
        words = text.split()  # words of two letters or more, as the signer reads them
        shingles = {" ".join(words[i:i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}
        reference.clear()
        reference.update_batch(list(shingles))
        signature = TextSigner().signature(text)
        assert signature is not None and signature.dtype == np.uint32
        assert signature.tolist() == reference.hashvalues.tolist()
