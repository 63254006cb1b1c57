"""The merchant's small catalog and its pricing rules, with the scenarios they trigger.

Every scenario a test, the demo or a benchmark needs is reachable with plain
UCP requests — no special headers — by choosing an item, a code or a token:

=====================  ==========================================================================
input                  effect
=====================  ==========================================================================
``tshirt_red``,        ordinary physical items (need a shipping address and a shipping option);
``mug_ceramic``,       ``sticker_pack`` has a stock of 10
``sticker_pack``
``ebook_ucp``          digital item: needs no fulfillment (FUL-01)
``watch_engraved``     ``requires_escalation``: the engraving text can only be entered on the
                       merchant's site (``requires_buyer_input``, code ``engraving_required``)
``hoodie_sold_out``    out of stock (``out_of_stock``); alone in a create it is an error response
``nut_butter``         carries an allergen ``disclosure`` warning (CHK-26)
any other item id      ``item_unavailable``; alone in a create it is an error response (TRN-15)
quantity > stock       clamped to the stock, with a ``quantity_adjusted`` warning
order total >=         ``requires_escalation`` with ``requires_buyer_review``
``review_threshold``   (code ``high_value_review``)
code ``SAVE10``        $10 off the order (``discount``), needs a $20 subtotal
code ``SUMMER20``      20% off each item (``items_discount`` with allocations)
code ``EXPIRED50``     rejected: ``discount_code_expired`` warning
code ``MEMBERS5``      rejected: ``discount_code_user_not_logged_in`` warning
other codes            rejected: ``discount_code_invalid`` warning
=====================  ==========================================================================

Payment tokens (``payment.instruments[].credential.token`` at complete) pick
the payment outcome; see :mod:`reference_merchant.payments`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class DiscountKind(StrEnum):
    ORDER_AMOUNT = "order_amount"  # a fixed amount off the order: totals "discount"
    ITEM_PERCENT = "item_percent"  # a percentage off each item: totals "items_discount" with allocations
    EXPIRED = "expired"
    LOGIN_REQUIRED = "login_required"


class CatalogItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    price: int = Field(ge=0, description="Unit price in minor units.")
    stock: int = Field(default=1000, ge=0)
    physical: bool = True
    image_url: str | None = None
    requires_buyer_input: str | None = Field(
        default=None, description="Escalation message when the buyer must finish something on the merchant site."
    )
    disclosure: str | None = Field(default=None, description="Text of a disclosure warning shown with this item.")


class DiscountRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    title: str
    kind: DiscountKind
    amount: int = Field(default=0, ge=0, description="Minor units off the order (order_amount).")
    percent: int = Field(default=0, ge=0, le=100, description="Percent off each item (item_percent).")
    minimum_subtotal: int = Field(default=0, ge=0)


class ShippingOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    description: str
    amount: int = Field(ge=0)
    carrier: str


DEFAULT_ITEMS: tuple[CatalogItem, ...] = (
    CatalogItem(id="tshirt_red", title="Red T-Shirt", price=2500, stock=500),
    CatalogItem(id="mug_ceramic", title="Ceramic Mug", price=1500, stock=200),
    CatalogItem(id="sticker_pack", title="Sticker Pack", price=300, stock=10),
    CatalogItem(id="ebook_ucp", title="UCP Field Guide (e-book)", price=999, physical=False),
    CatalogItem(
        id="watch_engraved",
        title="Engraved Watch",
        price=19900,
        stock=20,
        requires_buyer_input="Choose the engraving text on the merchant's site.",
    ),
    CatalogItem(id="hoodie_sold_out", title="Limited Hoodie", price=6500, stock=0),
    CatalogItem(
        id="nut_butter",
        title="Artisan Nut Butter",
        price=1299,
        stock=100,
        disclosure="**Contains: tree nuts.** Produced in a facility that also processes peanuts and milk.",
    ),
)

DEFAULT_DISCOUNTS: tuple[DiscountRule, ...] = (
    DiscountRule(
        code="SAVE10", title="$10 Off Your Order", kind=DiscountKind.ORDER_AMOUNT, amount=1000, minimum_subtotal=2000
    ),
    DiscountRule(code="SUMMER20", title="Summer Sale 20% Off", kind=DiscountKind.ITEM_PERCENT, percent=20),
    DiscountRule(code="EXPIRED50", title="50% Off (expired)", kind=DiscountKind.EXPIRED, percent=50),
    DiscountRule(code="MEMBERS5", title="Members $5 Off", kind=DiscountKind.LOGIN_REQUIRED, amount=500),
)

DEFAULT_SHIPPING: tuple[ShippingOption, ...] = (
    ShippingOption(
        id="standard",
        title="Standard Shipping",
        description="Arrives in 5-7 business days",
        amount=500,
        carrier="USPS",
    ),
    ShippingOption(
        id="express",
        title="Express Shipping",
        description="Arrives in 1-2 business days",
        amount=1500,
        carrier="FedEx",
    ),
)


class Catalog:
    """Lookup over the configured items, codes and shipping options (codes match case-insensitively, DSC-03)."""

    def __init__(
        self,
        items: tuple[CatalogItem, ...] | list[CatalogItem],
        discounts: tuple[DiscountRule, ...] | list[DiscountRule],
        shipping: tuple[ShippingOption, ...] | list[ShippingOption],
    ) -> None:
        self._items = {item.id: item for item in items}
        self._discounts = {rule.code.upper(): rule for rule in discounts}
        self.shipping_options = tuple(shipping)

    def item(self, item_id: str) -> CatalogItem | None:
        return self._items.get(item_id)

    def discount(self, code: str) -> DiscountRule | None:
        return self._discounts.get(code.upper())

    def shipping_option(self, option_id: str) -> ShippingOption | None:
        return next((option for option in self.shipping_options if option.id == option_id), None)
