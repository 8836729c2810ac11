"""Debt bondage in job ads is found however it is worded, and ordinary job ads do not raise it.

The patterns' own examples run in ``test_pattern_examples``; these are further paraphrases of the same
concepts (working a debt off, paying it back with interest, wages or leave held until it is paid, the
worker owing the employer, housing that ends with the job), written independently of the examples, and
ordinary job-ad wording that shares words with them (housing available, back-to-school bonus, payroll
deductions, loans with interest offered to anyone).
"""

from __future__ import annotations

import pytest

from tests.shipped_patterns import shipped_matcher
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.normalize import normalize

LABOUR_HARM = ("labour_debt", "labour_housing")


def labour_patterns(text: str) -> set[str]:
    norm = normalize(text)
    return {i.pattern_id for i in shipped_matcher().match(norm, extract_entities(norm))
            if i.category in LABOUR_HARM}


@pytest.mark.parametrize(("text", "pattern_id"), [
    ("The agency pays your visa; you will be working that off during the harvest season.",
     "labour_debt.work_off_debt"),
    ("Workers work off their placement fees within 6 months.", "labour_debt.work_off_debt"),
    ("Flights fronted by the company and paid back with 15% interest.", "labour_debt.repaid_with_interest"),
    ("We cover the trip, you repay it later plus interest.", "labour_debt.repaid_with_interest"),
    ("Half of each paycheck is withheld from your pay until the fees are recovered.",
     "labour_debt.held_until_debt_paid"),
    ("No one goes home until their travel debt is settled.", "labour_debt.held_until_debt_paid"),
    ("The loan must be repaid before you can leave the farm.", "labour_debt.held_until_debt_paid"),
    ("From day one you owe the company for transport and housing.", "labour_debt.owed_to_employer"),
    ("Bunk in the staff dorm, which is conditional on your contract.", "labour_housing.housing_tied_to_job"),
    ("If you are fired you move out of the dorm that night.", "labour_housing.housing_tied_to_job"),
])
def test_debt_bondage_paraphrases_raise_their_pattern(text: str, pattern_id: str) -> None:
    assert pattern_id in labour_patterns(text)


@pytest.mark.parametrize("text", [
    "Warehouse staff wanted. Housing available for relocating staff, ask HR.",
    "We pay back-to-school bonus to all staff every August.",
    "Federal and state tax are deducted from your salary; pay stubs online.",
    "Dental premiums are deducted from your paycheck, 401k contributions deducted from each pay.",
    "Employee loan program at 0% interest, interest-free salary advances through the HR app.",
    "Pay back your student loan faster with our credit union partner.",
    "Burn off the holiday treats: work it off at our gym, first class free.",
    "Hybrid role, work off-site two days a week; relocation package covers flights.",
    "Caretaker position, cottage on the estate, rent free while employed.",
])
def test_ordinary_job_ads_raise_no_debt_or_housing_pattern(text: str) -> None:
    assert labour_patterns(text) == set()
