"""Every evasion class of issue 12 is undone by the normaliser, and other scripts stay matchable.

Each case checks the folded text *and* that the evidence maps back to the characters as written, since
analysts must see what the ad said.
"""

from __future__ import annotations

import pytest

from tests.shipped_patterns import shipped_matcher
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.normalize import normalize


def fired(text: str) -> set[str]:
    norm = normalize(text)
    return {i.pattern_id for i in shipped_matcher().match(norm, extract_entities(norm))}


def folds_to(written: str, expected: str) -> None:
    norm = normalize(written)
    assert norm.text == expected, (written, norm.text)
    start = norm.text.index(expected.strip().split(" ")[0])
    evidence, _ = norm.evidence(start, start + len(expected.strip()))
    assert evidence.strip() and evidence in written


@pytest.mark.parametrize(("written", "expected"), [
    ("\u0443\u043eung girl", "young girl"),              # Cyrillic у, о
    ("\u0570\u0585t girl", "hot girl"),                   # Armenian հ, օ
    ("\u10e7oung girl", "young girl"),                    # Georgian ყ
    ("\u0456nnocent", "innocent"),                        # Ukrainian і
    ("y\u03bfung", "young"),                              # Greek ο
    ("\u028f\u1d0f\u1d1c\u0274\u0262", "young"),          # Latin small capitals
    ("\uff59\uff4f\uff55\uff4e\uff47", "young"),          # fullwidth
])
def test_look_alike_letters_of_every_script_fold(written: str, expected: str) -> None:
    folds_to(written, expected)


@pytest.mark.parametrize("mark", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u2061",
                                  "\u202e", "\U000e0041", "\ufe0f", "\U000e0100"])
def test_every_invisible_character_is_removed_and_the_map_kept(mark: str) -> None:
    written = f"y{mark}o{mark}ung girl"
    norm = normalize(written)
    assert norm.text == "young girl"
    assert norm.evidence(0, 5)[0] == written[: written.index(" ")]


@pytest.mark.parametrize("blank", ["\u2800", "\u3164", "\u115f", "\uffa0", "\u2005", "\u205f", "\u3000"])
def test_blank_look_alikes_are_spaces(blank: str) -> None:
    assert normalize(blank.join("young") + " girl").text == "young girl"
    assert normalize(f"sweet{blank}girl").text == "sweet girl"


@pytest.mark.parametrize("written", ["yo-ung girl", "yo.ung girl", "you_ng girl", "yo*ung girl", "yo'ung girl"])
def test_a_word_broken_by_one_mark_is_joined(written: str) -> None:
    norm = normalize(written)
    assert norm.text == "young girl"
    assert norm.evidence(0, 5)[0] == written.split(" ")[0]


@pytest.mark.parametrize("text", ["well-known e-mail", "jane.doe@mail.example.com", "check-in at 5", "u.s. visa"])
def test_ordinary_marked_words_and_addresses_stay_as_written(text: str) -> None:
    assert normalize(text).text == text


def test_spaced_letters_running_into_the_next_word_are_taken_apart() -> None:
    assert normalize("y o u n ggirl waiting").text == "young girl waiting"
    assert normalize("s c h o o l girl").text == "school girl"
    assert normalize("y o u repay the loan").text == "you repay the loan"  # "r" stays with "repay"
    assert normalize("paid only after y o u reach the target").text == "paid only after you reach the target"


def test_emoji_codes_read_as_their_words() -> None:
    text = normalize("🐣👧 🆕 in town 🏫").text
    for word in ("young", "girl", "new", "school"):
        assert f" {word} " in f" {text} "
    assert "youth.young_fresh_girl" in fired("🐣 girl waiting")  # only the lexicon makes 🐣 "young"


@pytest.mark.parametrize(("slang", "word"), [("yung", "young"), ("fressh", "fresh"), ("dady", "daddy"),
                                             ("mngr", "manager"), ("engrish", "english")])
def test_slang_and_coded_spellings_read_as_the_word(slang: str, word: str) -> None:
    assert normalize(f"my {slang} here").text == f"my {word} here"


def test_several_evasions_at_once() -> None:
    written = "ｙ\u200b0\u200dung g\u2800i\u2800r\u2800l, her d-a-d-d-y b\u043e\u043eks"
    assert fired(written) >= {"youth.young_fresh_girl"}
    assert normalize(written).text.startswith("young girl")


@pytest.mark.parametrize("text", [
    "Новенькая в городе, она нет дома, звоните",
    "Ей не пишите, звоните администратору",
    "学生妹 新到 17岁",
    "สาวน้อยมาใหม่ อายุ 17",
    "Σήμερα είναι καλή μέρα",
])
def test_other_scripts_keep_their_letters(text: str) -> None:
    folded = normalize(text).text
    assert not folded.isascii()
    assert sum(c.isascii() and c.isalpha() for c in folded) == sum(c.isascii() and c.isalpha() for c in text.lower())


def test_a_look_alike_word_in_an_english_ad_folds_but_not_in_a_russian_one() -> None:
    assert normalize("very \u0441\u043e\u0443 girl").text == "very coy girl"
    assert normalize("Она очень молодая").text == "она очень молодая"


@pytest.mark.parametrize(("text", "pattern"), [
    ("Юная школьница, звоните", "youth.minor_words_ru"),
    ("学生妹 新到", "youth.minor_words_zh"),
    ("น้องยังเด็ก", "youth.minor_words_tl_vi_th"),
    ("Ей не пишите, звоните администратору", "control.third_party_arranges_ru_zh"),
])
def test_patterns_in_other_scripts_match_after_normalisation(text: str, pattern: str) -> None:
    assert pattern in fired(text)
