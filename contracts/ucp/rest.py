"""The shopping service's REST operations: one name, one method, one path each (checkout-rest.md, order-rest.md).

The values are the operation ids of the spec's ``rest.openapi.json``
(``create_checkout`` ... ``get_order``); they are also what recorded workflow
histories carry (``activities.types.MerchantOperation`` is this enum), so a
value is never renamed. Paths are relative to the business's REST
``endpoint`` (OVR-10: appended to it as is, no slash added or removed).
"""

from __future__ import annotations

from enum import StrEnum


class RestOperation(StrEnum):
    """A UCP shopping REST operation a platform performs at a business."""

    CREATE = "create_checkout"
    GET = "get_checkout"
    UPDATE = "update_checkout"
    COMPLETE = "complete_checkout"
    CANCEL = "cancel_checkout"
    GET_ORDER = "get_order"

    @property
    def method(self) -> str:
        return {
            RestOperation.CREATE: "POST",
            RestOperation.UPDATE: "PUT",
            RestOperation.COMPLETE: "POST",
            RestOperation.CANCEL: "POST",
        }.get(self, "GET")

    def path(self, resource_id: str | None) -> str:
        """The path below the endpoint; ``resource_id`` is the checkout id (the order id for ``get_order``)."""
        if self is RestOperation.CREATE:
            return "/checkout-sessions"
        if self is RestOperation.GET_ORDER:
            return f"/orders/{resource_id}"
        suffix = {RestOperation.COMPLETE: "/complete", RestOperation.CANCEL: "/cancel"}.get(self, "")
        return f"/checkout-sessions/{resource_id}{suffix}"

    @property
    def answers_with_order(self) -> bool:
        """``get_order`` answers with an order (order.json); every other operation with a checkout."""
        return self is RestOperation.GET_ORDER
