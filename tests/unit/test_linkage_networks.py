"""Network detectors find circuits, templates, bursts and shared images; only exploitation alerts."""

from __future__ import annotations

from tests.linkage_posts import summary
from trailhound.detectors.linkage.clusters import ClusterBook
from trailhound.detectors.linkage.key_index import Link
from trailhound.detectors.linkage.networks import NetworkParams, assess_cluster

CITIES = ("Denver", "Phoenix", "Dallas", "Atlanta", "Miami")
ADULT = ("price", "obfuscation")


def chain(posts, key="phone:+1", reason="same phone"):
    book = ClusterBook()
    for a, b in zip(posts, posts[1:], strict=False):
        book.link(Link(a, b, key, reason))
    (cluster,) = book.clusters.values()
    return cluster


def circuit(n_cities=4, harm=(), authors=("a",), categories=ADULT, days=1.0, signs=("control", "youth")):
    posts = []
    for i, city in enumerate(CITIES[:n_cities]):
        for j in range(2):
            shown = signs if (i * 2 + j) in harm else ()
            posts.append(summary(day=i * days + j * 0.3, city=city, phone="+1", author=authors[(i + j) % len(authors)],
                                 categories=categories + shown, harm=shown))
    return chain(posts)


def test_a_circuit_with_signs_of_harm_alerts_and_names_the_route() -> None:
    result = assess_cluster(circuit(4, harm={0, 3, 5}))
    assert result.should_alert
    assert "circuit" in result.kinds
    assert [stop.city for stop in result.route] == list(CITIES[:4])
    evidence = next(f.evidence for f in result.findings if f.kind == "circuit")
    assert "Denver → Phoenix → Dallas → Atlanta" in evidence
    assert result.route[0].posts == 2 and result.route[0].first_seen < result.route[0].last_seen


def test_an_adult_touring_alone_with_no_sign_of_harm_is_not_raised() -> None:
    result = assess_cluster(circuit(5))
    assert "circuit" in result.kinds and not result.should_alert


def test_several_people_advertised_under_one_contact_across_cities_alert() -> None:
    result = assess_cluster(circuit(4, authors=("luna", "mia", "ivy")))
    assert result.should_alert and result.personas == 3
    assert any("3 people" in c for c in result.content)
    assert not assess_cluster(circuit(4, authors=("luna", "mia", "ivy")), NetworkParams(personas_min=4)).should_alert


def test_a_business_posting_in_many_cities_is_not_raised() -> None:
    result = assess_cluster(circuit(5, authors=("movers-a", "movers-b", "movers-c"), categories=()))
    assert "circuit" in result.kinds and not result.should_alert


def test_circuit_needs_the_minimum_number_of_cities() -> None:
    assert "circuit" not in assess_cluster(circuit(2, harm={0, 1, 2})).kinds
    assert not assess_cluster(circuit(3, harm={0, 1, 2}), NetworkParams(circuit_min_cities=4)).should_alert
    assert assess_cluster(circuit(3, harm={0, 1, 2})).should_alert


def test_a_circuit_outside_the_window_is_not_one() -> None:
    spread = circuit(4, harm={0, 1, 2, 3, 4, 5}, days=10.0)
    assert "circuit" not in assess_cluster(spread, NetworkParams(window_s=20 * 86_400, circuit_min_cities=4)).kinds
    assert "circuit" in assess_cluster(spread, NetworkParams(window_s=31 * 86_400, circuit_min_cities=4)).kinds


def test_one_indicator_repeated_by_every_copy_is_not_enough() -> None:
    farm_stand = circuit(5, harm=set(range(10)), categories=(), signs=("youth",))
    assert "circuit" in assess_cluster(farm_stand).kinds and not assess_cluster(farm_stand).should_alert
    assert assess_cluster(farm_stand, NetworkParams(harm_min_kinds=1)).should_alert
    assert not assess_cluster(circuit(4, harm={0, 3, 5}), NetworkParams(harm_min_kinds=3)).should_alert


def test_harm_needs_more_than_one_stray_post() -> None:
    assert not assess_cluster(circuit(4, harm={0})).should_alert
    assert not assess_cluster(circuit(5, harm={0, 1}), NetworkParams(harm_min_share=0.25)).should_alert
    assert assess_cluster(circuit(5, harm={0, 1}), NetworkParams(harm_min_share=0.2)).should_alert


def template(n_contacts, categories):
    posts = [summary(day=i * 0.1, phone=f"+{i}", categories=categories) for i in range(n_contacts)]
    return chain(posts, "text:0:ab", "text 0.93 similar")


def test_one_adult_service_template_across_many_contacts_alerts() -> None:
    result = assess_cluster(template(4, ADULT))
    assert result.should_alert and "template" in result.kinds
    assert "4 posts with near-identical text" in result.findings[0].evidence


def test_a_job_ad_with_labour_indicators_across_contacts_alerts_a_restaurant_chain_does_not() -> None:
    assert assess_cluster(template(4, ("labour_recruitment", "labour_pay"))).should_alert
    chain_ad = assess_cluster(template(6, ()))
    assert "template" in chain_ad.kinds and not chain_ad.should_alert


def test_template_needs_enough_contacts() -> None:
    assert "template" not in assess_cluster(template(2, ADULT)).kinds
    assert "template" not in assess_cluster(template(4, ADULT), NetworkParams(template_min_contacts=5)).kinds


def test_a_burst_far_above_the_cluster_rate_is_velocity() -> None:
    signs = ("coercion", "youth")
    steady = [summary(day=d, phone="+1", categories=signs, harm=signs) for d in range(10)]
    burst = [summary(day=10 + h / 24, phone="+1", categories=signs, harm=signs) for h in range(8)]
    result = assess_cluster(chain(steady + burst))
    assert "velocity" in result.kinds and result.should_alert
    assert next(f.evidence for f in result.findings if f.kind == "velocity") == \
        "8 posts in one day against a usual 1.1 a day"
    new_cluster = assess_cluster(chain(burst))
    assert next(f.evidence for f in new_cluster.findings if f.kind == "velocity") == \
        "8 posts in one day against none on the days before"
    assert "velocity" not in assess_cluster(chain(steady + burst), NetworkParams(velocity_min_posts=9)).kinds
    assert "velocity" not in assess_cluster(chain(steady)).kinds


def test_the_same_image_under_different_contacts_is_a_shared_image() -> None:
    posts = [summary(day=i, phone=f"+{i}", categories=ADULT, phash=7) for i in range(3)]
    result = assess_cluster(chain(posts, "image:0:0007", "same image"))
    assert result.kinds == ("shared_image",) and result.should_alert
    one_contact = [summary(day=i, phone="+1", categories=ADULT, phash=7) for i in range(3)]
    assert "shared_image" not in assess_cluster(chain(one_contact, "image:0:0007", "same image")).kinds


def test_every_threshold_is_honoured() -> None:
    signs = ("coercion", "youth")
    steady = [summary(day=d, phone="+1", categories=signs, harm=signs) for d in range(10)]
    burst = [summary(day=10 + h / 24, phone="+1", categories=signs, harm=signs) for h in range(8)]
    assert "velocity" not in assess_cluster(chain(steady + burst), NetworkParams(velocity_factor=9.0)).kinds
    assert "template" not in assess_cluster(template(4, ADULT), NetworkParams(template_min_posts=5)).kinds
    assert not assess_cluster(template(4, ADULT), NetworkParams(adult_min_share=1.01)).should_alert
    several = circuit(4, authors=("luna", "mia", "ivy"))
    assert not assess_cluster(several, NetworkParams(adult_min_share=1.01)).should_alert
    assert not assess_cluster(circuit(4, harm={0, 3, 5}), NetworkParams(harm_min_posts=4)).should_alert


def test_copies_that_name_no_contact_are_not_a_network_of_contacts() -> None:
    posts = [summary(day=i * 0.1, categories=ADULT) for i in range(5)]  # no phone, e-mail, handle or author
    result = assess_cluster(chain(posts, "text:0:ab", "text 0.93 similar"))
    assert "template" not in result.kinds and result.contacts == ()


def test_a_near_copy_of_an_adult_service_ad_is_one_too_but_a_post_linked_otherwise_is_not() -> None:
    def ads(reason_key: str, reason: str):  # one persona per post under one phone; only the first ad says "rates"
        posts = [summary(day=i, city=CITIES[i], phone="+1", author=f"p{i % 3}", categories=ADULT if i == 0 else ())
                 for i in range(4)]
        book = ClusterBook()
        for other in posts[1:]:
            book.link(Link(posts[0], other, reason_key, reason))
        (cluster,) = book.clusters.values()
        return assess_cluster(cluster)

    copied = ads("text:0:ab", "text 0.93 similar")
    assert copied.should_alert and any("3 people" in c for c in copied.content)
    assert not ads("phone:+1", "same phone").should_alert  # 1 of 4 posts reads as adult service: no network of them


def test_a_job_ad_whose_labour_indicators_one_copy_shows_alerts_through_its_copies() -> None:
    posts = [summary(day=i * 0.1, phone=f"+{i}", categories=("labour_debt", "labour_housing") if i == 0 else ())
             for i in range(4)]
    book = ClusterBook()
    for other in posts[1:]:
        book.link(Link(posts[0], other, "text:0:ab", "text 0.93 similar"))
    (cluster,) = book.clusters.values()
    assert assess_cluster(cluster).should_alert
    assert not assess_cluster(template(4, ())).should_alert


def test_a_burst_far_above_what_one_advertiser_posts_in_its_city_is_velocity() -> None:
    from trailhound.detectors.linkage.city_rates import CityRates

    signs = ("coercion", "youth")
    steady = [summary(day=d + h / 24, city="Denver", phone="+1", categories=signs, harm=signs)
              for d in range(10) for h in range(6)]  # the network always posts 6 a day: its own rate is no yardstick
    burst = [summary(day=10 + h / 48, city="Denver", phone="+1", categories=signs, harm=signs) for h in range(12)]
    cluster = chain(steady + burst)
    assert "velocity" not in assess_cluster(cluster).kinds

    def city(per_advertiser_day: int) -> CityRates:
        rates = CityRates()
        for d in range(10):
            for n in range(20):  # twenty other advertisers in Denver every day
                for k in range(per_advertiser_day):
                    rates.observe("Denver", f"phone:+9{n}", 1_700_000_000 + (d + k / 24) * 86_400, f"d{d}-{n}-{k}")
        return rates

    quiet = assess_cluster(cluster, cities=city(1))
    assert "velocity" in quiet.kinds and quiet.should_alert
    evidence = next(f.evidence for f in quiet.findings if f.kind == "velocity")
    assert evidence == "12 posts in Denver in one day against a usual 1.0 a day for one advertiser in Denver"
    assert "velocity" not in assess_cluster(cluster, cities=city(4)).kinds  # a busy city: 12 is not 4 × 4
    assert "velocity" not in assess_cluster(cluster, NetworkParams(velocity_factor=13.0), cities=city(1)).kinds
    assert "velocity" not in assess_cluster(cluster, NetworkParams(velocity_min_posts=13), cities=city(1)).kinds


def test_a_city_seen_on_too_few_days_has_no_baseline_and_posts_count_once() -> None:
    from trailhound.detectors.linkage.city_rates import CityRates

    rates = CityRates(min_days=3)
    for d in range(2):
        rates.observe("Miami", "phone:+1", 1_700_000_000 + d * 86_400, f"p{d}")
        rates.observe("Miami", "phone:+1", 1_700_000_000 + d * 86_400, f"p{d}")  # the same post again
    assert rates.per_advertiser("Miami", 1_700_000_000 + 5 * 86_400) is None
    rates.observe("Miami", "phone:+2", 1_700_000_000 + 2 * 86_400, "p2")
    assert rates.per_advertiser("Miami", 1_700_000_000 + 5 * 86_400) == 1.0
    assert rates.per_advertiser("Miami", 1_700_000_000 + 40 * 86_400) is None  # outside the window
