"""Sampling for incoming inspection: ISO 2859-1 (the same tables as ANSI/ASQ Z1.4 and
MIL-STD-105E), general inspection level II, single sampling, normal inspection.

Lot size gives a sample size code letter (Table 1), the code letter a sample size, and
the letter with the AQL an acceptance number Ac (Table 2-A, the master table): the lot
is accepted when the sample holds at most Ac nonconforming units.

Tables as given on http://qualitycontrolpartners.com/aql-tables ("Source: ISO 2859-1
standard": Table I code letters, Table II single sampling plans for normal inspection),
checked against the MIL-STD-105E Table II-A reproduction at
http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC and the code letter table of GOST R ISO
2859-1 (https://base.garant.ru/71446952/...). Switching to tightened or reduced
inspection (ISO 2859-1 clause 9) is not applied: every lot is inspected as normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Table 1, general inspection level II: the largest lot size of each code letter.
CODE_LETTERS: tuple[tuple[int, str], ...] = (
    (8, "A"),
    (15, "B"),
    (25, "C"),
    (50, "D"),
    (90, "E"),
    (150, "F"),
    (280, "G"),
    (500, "H"),
    (1200, "J"),
    (3200, "K"),
    (10000, "L"),
    (35000, "M"),
    (150000, "N"),
    (500000, "P"),
)
LAST_LETTER = "Q"  # 500,001 and over
LETTERS = "ABCDEFGHJKLMNPQR"
SAMPLE_SIZES = dict(zip(LETTERS, (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000), strict=True))

# The AQL columns of Table 2-A (percent nonconforming), in order. The position of a
# column plus the position of a code letter names a diagonal of the master table: all
# cells on one diagonal hold the same plan (Ac), or the same arrow.
AQL_COLUMNS = tuple(
    Decimal(v)
    for v in (
        *("0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25"),
        *("0.40", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10"),
    )
)
# What a tenant may choose: the preferred series from 0.10 to 10 (the plan stores the
# AQL with two decimals, which 0.015, 0.025 and 0.065 do not fit; incoming inspection
# of purchased parts uses 0.10 and up).
AQLS = AQL_COLUMNS[5:]
# Diagonal -> acceptance number. Diagonal 15 is an up arrow ("use the first plan above"),
# 16 a down arrow ("use the first plan below"); below 14 down arrows; from 25 (AQL 10
# and large samples) up arrows.
_ACCEPT = {14: 0, 17: 1, 18: 2, 19: 3, 20: 5, 21: 7, 22: 10, 23: 14, 24: 21}


@dataclass(frozen=True)
class SamplingPlan:
    code_letter: str
    sample_size: int  # never more than the lot: a smaller lot is inspected in full
    accept: int  # Ac: accept with at most this many nonconforming units in the sample
    reject: int  # Re = Ac + 1
    full_inspection: bool = False  # the sample is the whole lot


def code_letter(lot_size: int) -> str:
    for largest, letter in CODE_LETTERS:
        if lot_size <= largest:
            return letter
    return LAST_LETTER


def parse_aql(value) -> Decimal | None:
    """The AQL as one of AQLS, or None when it is not one of them."""
    try:
        aql = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return next((a for a in AQLS if a == aql), None)


def plan_for(lot_size: int, aql: Decimal) -> SamplingPlan:
    """The single sampling plan (normal inspection, level II) for a lot and an AQL of AQLS."""
    if lot_size < 1:
        raise ValueError("a lot has at least one unit")
    column = AQL_COLUMNS.index(Decimal(aql))
    row = LETTERS.index(code_letter(lot_size))
    while True:
        diagonal = row + column
        if diagonal in _ACCEPT:
            break
        # Row A has no plan above: its up arrow (AQL 10) is read as the next plan below.
        row += -1 if (diagonal == 15 and row > 0) or diagonal >= 25 else 1
    letter = LETTERS[row]
    accept = _ACCEPT[diagonal]
    sample = SAMPLE_SIZES[letter]
    if sample >= lot_size:
        # "If sample size equals or exceeds lot size, carry out 100 % inspection."
        return SamplingPlan(letter, lot_size, accept, accept + 1, full_inspection=True)
    return SamplingPlan(code_letter=letter, sample_size=sample, accept=accept, reject=accept + 1)
