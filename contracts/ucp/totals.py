"""Amounts and totals (types/amount.json, types/total.json, types/totals.json): the rules of their signs and sums.

Schema rules pydantic cannot express are checked here: the sign of each
well-known total type, exactly one ``subtotal`` and one ``total``, a
``display_text`` on unknown types (CHK-41), sub-lines summing to their parent
(CHK-42); :func:`totals_add_up` is the platform's check before complete (CMP-06).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AfterValidator, Field, StrictInt, model_validator

from contracts.ucp._base import MAX_QUANTITY, OpenModel

Amount = Annotated[StrictInt, Field(ge=0)]
"""Minor units, never negative (types/amount.json)."""
SignedAmount = StrictInt
"""Minor units; the sign is the direction (types/signed_amount.json)."""
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]

WELL_KNOWN_TOTAL_TYPES: Final = frozenset(
    {"subtotal", "items_discount", "discount", "fulfillment", "tax", "fee", "total"}
)
SUBTRACTIVE_TOTAL_TYPES: Final = frozenset({"discount", "items_discount"})
ADDITIVE_TOTAL_TYPES: Final = frozenset({"subtotal", "fulfillment", "tax", "fee"})


# ---------------------------------------------------------------------------
# totals (types/total.json, types/totals.json)


class TotalLine(OpenModel):
    """A sub-line of a totals entry (itemised breakdown)."""

    display_text: str
    amount: SignedAmount


class Total(OpenModel):
    """A cost entry: ``type`` is an open string; well-known types carry a fixed sign."""

    type: str
    amount: SignedAmount
    display_text: str | None = None
    lines: list[TotalLine] | None = None

    @model_validator(mode="after")
    def _sign_and_lines(self) -> Total:
        if self.type in SUBTRACTIVE_TOTAL_TYPES and self.amount >= 0:
            raise ValueError(f"a {self.type} total must be negative")
        if self.type in ADDITIVE_TOTAL_TYPES and self.amount < 0:
            raise ValueError(f"a {self.type} total must not be negative")
        if self.lines is not None and sum(line.amount for line in self.lines) != self.amount:
            raise ValueError("sub-lines must add up to their parent amount")
        return self


def _check_totals(totals: list[Total]) -> list[Total]:
    for kind in ("subtotal", "total"):
        count = sum(1 for entry in totals if entry.type == kind)
        if count != 1:
            raise ValueError(f"totals must contain exactly one {kind!r} entry, found {count}")
    for entry in totals:
        if entry.type not in WELL_KNOWN_TOTAL_TYPES and not entry.display_text:
            raise ValueError(f"total type {entry.type!r} is not well known and needs display_text")
    return totals


Totals = Annotated[list[Total], AfterValidator(_check_totals)]


def totals_add_up(totals: list[Total]) -> bool:
    """Whether ``sum(non-total entries) == total`` (checkout.md "Verification"; CMP-06)."""
    grand = next((entry.amount for entry in totals if entry.type == "total"), None)
    return grand is not None and sum(entry.amount for entry in totals if entry.type != "total") == grand
