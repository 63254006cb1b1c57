"""Discount codes (discount.md): item percentages first (priority 1), then amounts off the order (priority 2).

An item-percent code takes ``floor(subtotal x percent / 100)`` off each line
(``items_discount`` with allocations); an order-amount code then takes its
amount off what is left (``discount``). Rejected codes become warnings, never
errors: a bad code must not block the checkout (DSC-05).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import ErrorCode as E
from reference_merchant.catalog import Catalog, CatalogItem, DiscountKind
from reference_merchant.messages import warning
from reference_merchant.state import LineState


@dataclass
class PricedLine:
    line: LineState
    item: CatalogItem
    index: int
    discount: int = 0

    @property
    def subtotal(self) -> int:
        return self.item.price * self.line.quantity


def apply_discounts(
    codes: list[str], lines: list[PricedLine], catalog: Catalog, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Apply codes in priority order; return (applied entries, order-level discount). Rejections become warnings."""
    applied: list[dict[str, Any]] = []
    accepted: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, code in enumerate(codes):
        path = f"$.discounts.codes[{index}]"
        rule = catalog.discount(code)
        if code.upper() in seen:
            messages.append(warning(E.DISCOUNT_CODE_ALREADY_APPLIED, f"Code '{code}' is already applied.", path))
            continue
        seen.add(code.upper())
        if rule is None:
            messages.append(warning(E.DISCOUNT_CODE_INVALID, f"Code '{code}' is not valid.", path))
        elif rule.kind is DiscountKind.EXPIRED:
            messages.append(warning(E.DISCOUNT_CODE_EXPIRED, f"Code '{code}' has expired.", path))
        elif rule.kind is DiscountKind.LOGIN_REQUIRED:
            messages.append(
                warning(E.DISCOUNT_CODE_USER_NOT_LOGGED_IN, f"Code '{code}' needs a signed-in buyer.", path)
            )
        else:
            accepted.append((index, code))

    for _index, code in accepted:  # priority 1: item-level percentages
        rule = catalog.discount(code)
        if rule is None or rule.kind is not DiscountKind.ITEM_PERCENT:
            continue
        allocations: list[dict[str, Any]] = []
        total = 0
        for line in lines:
            amount = line.subtotal * rule.percent // 100
            if amount:
                line.discount += amount
                total += amount
                allocations.append({"path": f"$.line_items[{line.index}]", "amount": amount})
        if total:
            applied.append(
                {
                    "code": code,
                    "title": rule.title,
                    "amount": total,
                    "method": "each",
                    "priority": 1,
                    "allocations": allocations,
                }
            )

    order_discount = 0
    goods = sum(line.subtotal - line.discount for line in lines)
    for index, code in accepted:  # priority 2: amounts off the order
        rule = catalog.discount(code)
        if rule is None or rule.kind is not DiscountKind.ORDER_AMOUNT:
            continue
        subtotal = sum(line.subtotal for line in lines)
        if subtotal < rule.minimum_subtotal:
            messages.append(
                warning(
                    E.DISCOUNT_CODE_USER_INELIGIBLE,
                    f"Code '{code}' needs a subtotal of at least {rule.minimum_subtotal} minor units.",
                    f"$.discounts.codes[{index}]",
                )
            )
            continue
        amount = min(rule.amount, goods - order_discount)
        if amount > 0:
            order_discount += amount
            applied.append({"code": code, "title": rule.title, "amount": amount, "priority": 2})
    return applied, order_discount
