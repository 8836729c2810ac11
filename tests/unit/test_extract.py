"""Entity extraction: one canonical value per contact however it is written, and what was disguised."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.detectors.extract import Entities, Price, extract_entities
from trailhound.detectors.normalize import normalize

E164 = "+12015550123"


def entities(text: str, hints: dict | None = None) -> Entities:
    return extract_entities(normalize(text), hints)


@pytest.mark.parametrize(
    ("written", "disguised"),
    [
        ("(201) 555-0123", False),
        ("201.555.0123", False),
        ("+1 201 555 0123", False),
        ("2015550123", False),
        ("two oh one five five five oh one two three", True),
        ("2 0 1 5 5 5 0 1 2 3", True),
        ("201 5five5 O123", True),
        ("2O1-555-Ol23", True),
        ("2️⃣0️⃣1️⃣5️⃣5️⃣5️⃣0️⃣1️⃣2️⃣3️⃣", True),
        ("２０１５５５０１２３", True),
        ("201 555 text me 0123", True),
        ("dos cero uno 555 cero uno dos tres", True),
        ("2-0-1 five-5-5 zero one 2 three", True),
    ],
)
def test_every_way_of_writing_a_number_gives_one_e164(written: str, disguised: bool) -> None:
    found = entities(f"Call me: {written} anytime")
    assert found.phones == (E164,)
    assert found.contact_obfuscated is disguised


_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["digit", "word", "spaced", "dotted"]), min_size=10, max_size=10))
def test_mixing_digits_and_number_words_still_gives_the_same_number(styles: list[str]) -> None:
    parts = []
    for digit, style in zip("2015550123", styles, strict=True):
        parts.append(_DIGIT_WORDS[int(digit)] if style == "word" else digit)
        parts.append({"digit": "", "word": " ", "spaced": " ", "dotted": "."}[style])
    text = "".join(parts)
    assert entities(f"txt {text} now").phones == (E164,)


def test_numbers_that_are_not_phones_are_not_taken_for_one() -> None:
    found = entities("Available 24/7, 22 yo, rates $150 half hour, $250 hour, 1 2 3 go, since 2019")
    assert found.phones == ()


def test_country_hint_sets_the_region_for_local_numbers() -> None:
    assert entities("ring 020 7946 0018", {"country": "GB"}).phones == ("+442079460018",)
    assert entities("ring 020 7946 0018").phones == ()  # not a valid number in the default region (US)


def test_contact_fields_of_the_post_are_merged_in_canonical_form() -> None:
    hints = {"contact": {"phones": ["(201) 555-0123"], "emails": ["Jane@Example.com"], "handles": ["@jane_7"]},
             "location": {"city": "las vegas", "region": "NV"}}
    found = entities("call 201 555 0123", hints)
    assert found.phones == (E164,)
    assert found.emails == ("jane@example.com",)
    assert found.handles == ("@jane_7",)
    assert "Las Vegas" in found.locations


@pytest.mark.parametrize(
    ("written", "email", "disguised"),
    [
        ("jane.doe@example.com", "jane.doe@example.com", False),
        ("JANE7@Example.org", "jane7@example.org", False),
        ("jane at example dot com", "jane@example.com", True),
        ("jane (at) example (dot) com", "jane@example.com", True),
        ("jane [at] example [dot] org", "jane@example.org", True),
    ],
)
def test_emails_plain_and_spelled_out(written: str, email: str, disguised: bool) -> None:
    found = entities(f"write to {written} for info")
    assert found.emails == (email,)
    assert found.contact_obfuscated is disguised


def test_meeting_at_a_place_is_not_an_email() -> None:
    assert entities("meet me at the hotel dot com lobby").emails == ()


@pytest.mark.parametrize(
    ("written", "handle"),
    [("snap: sweetjane7", "snapchat:sweetjane7"), ("IG janie_99", "instagram:janie_99"),
     ("kik - candy.girl", "kik:candy.girl"), ("follow @cool_kat", "@cool_kat"),
     ("telegram @jane_b", "telegram:jane_b")],
)
def test_handles_are_keyed_by_platform(written: str, handle: str) -> None:
    assert entities(written).handles == (handle,)


def test_everyday_words_are_not_handles() -> None:
    found = entities("of course, snap me later, ig it's fine")
    assert found.handles == ()


def test_prices_with_currency_and_rate() -> None:
    found = entities("150hh, $250/hour, 400 roses overnight, earn $5,000 a week, €80 per session")
    assert Price(150.0, "", "half_hour") in found.prices
    assert Price(250.0, "USD", "hour") in found.prices
    assert Price(400.0, "roses", "overnight") in found.prices
    assert Price(5000.0, "USD", "week") in found.prices
    assert Price(80.0, "EUR", "session") in found.prices


def test_durations_are_not_prices() -> None:
    assert entities("open 24 hr, 2 hours minimum").prices == ()


@pytest.mark.parametrize(
    ("written", "age"),
    [("22 yo", 22), ("22yo", 22), ("age 19", 19), ("19 years old", 19), ("I'm 17", 17),
     ("just turned 18", 18), ("sixteen years old", 16), ("19 y/o", 19)],
)
def test_stated_ages(written: str, age: int) -> None:
    assert entities(f"hi, {written}, new here").ages == (age,)


@pytest.mark.parametrize("text", ["10 years of experience", "open 19 hours", "$19 special", "I'm 5'6"])
def test_numbers_that_are_not_ages(text: str) -> None:
    assert entities(text).ages == ()


def test_places_are_found_as_whole_words_only() -> None:
    found = entities("Visiting Las Vegas and NYC, then Texas. Mobile friendly, newark-ish? no: Newark")
    assert found.locations == ("Las Vegas", "New York", "Texas", "Newark")
    assert entities("a dallasite wrote").locations == ()


def test_entities_round_trip_through_json() -> None:
    found = entities("jane at example dot com, 2 0 1 5 5 5 0 1 2 3, $60/hr, age 19, Denver, snap: jj_7",
                     {"contact": {"phones": ["+1 212 555 0199"]}})
    assert Entities.from_json(found.to_json()) == found
    assert found.to_json()["phones"] == [E164, "+12125550199"]


@pytest.mark.parametrize(("text", "ages"), [
    ("Experienced nanny (10 years, CPR certified) looking for a family", ()),
    ("Licensed tutor, 12 years teaching maths", ()),
    ("sweet 16 years, new in town", (16,)),
    ("I am 15 years young", (15,)),
])
def test_years_of_experience_are_not_taken_for_an_age(text: str, ages: tuple[int, ...]) -> None:
    assert extract_entities(normalize(text)).ages == ages


def test_the_plain_us_number_shortcut_answers_as_the_phone_parser_does() -> None:
    """Ten-digit numbers skip ``phonenumbers.parse``; the E.164 (or the refusal) must be the parser's."""
    import random

    import phonenumbers

    from trailhound.detectors.extract.phones import parse_phone

    def parser(raw: str) -> str | None:
        try:
            number = phonenumbers.parse(raw, "US")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    rng = random.Random(12)
    canadian = ["4165550123", "6045550199", "5145550142"]  # valid for code 1, not in the US
    written = [f"{rng.randrange(10**10):010d}" for _ in range(1500)] + canadian + ["2125550184", "1125550184"]
    answers = {raw: parse_phone(raw, "US") for raw in written}
    assert answers == {raw: parser(raw) for raw in written}
    assert sum(v is not None for v in answers.values()) > 300  # both answers are well represented
    assert all(answers[raw] == "+1" + raw for raw in canadian)
