"""A vendor extension the operator declares for a merchant, with the checkout members its schema adds.

overview.md "Extensions can be ... Vendor: ``com.example.installments``
extends ``dev.ucp.shopping.checkout``": a vendor extension is negotiated like
an official one (OVR-23/24) and adds members to the checkout. The spec has a
platform learn those members by fetching the extension's ``schema`` URL and
composing it (OVR-17); the connector does not fetch a vendor's origin at
request time, so the operator names them here, next to the capability entry
the connector then declares in its platform profile *for this merchant*
(merchants.platform_profile). Only the members named here pass the request
check, and only while the merchant's profile also offers the extension
(contracts.ucp.extensions); the rest of the body is still checked strictly.

Checked at start, so a bad declaration is a configuration error, not a
surprise at the first checkout:

* the name is reverse-domain and not under ``dev.ucp`` (OVR-02, OVR-07);
* ``spec`` and ``schema`` live on the namespace's authority (OVR-04: the
  connector declares what it would itself refuse from a merchant otherwise);
* it extends ``dev.ucp.shopping.checkout`` (the members are checkout members);
* no member is one of the base checkout's or an official extension's: a
  vendor member skips the strict check, so claiming ``payment`` would let an
  unchecked payment through.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.ucp.extensions import reserved_members
from contracts.ucp.profile import namespace_authority, url_matches_authority

CHECKOUT: Final = "dev.ucp.shopping.checkout"
MEMBER_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Member = Annotated[str, StringConstraints(pattern=MEMBER_RE.pattern)]


class VendorExtension(BaseModel):
    """One vendor capability (its profile entry) and the top-level checkout members it adds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The capability version (YYYY-MM-DD).")
    spec: str = Field(description="https URL of the extension's specification, on the namespace's authority.")
    schema_url: str = Field(alias="schema", description="https URL of the extension schema, same authority.")
    extends: str | list[str] = Field(default=CHECKOUT, description="Parent capability (or list); must be checkout.")
    members: list[Member] = Field(
        min_length=1, description="Top-level checkout members the extension adds (its schema's checkout $defs)."
    )

    def parents(self) -> list[str]:
        return [self.extends] if isinstance(self.extends, str) else list(self.extends)

    def capability_entry(self) -> dict[str, Any]:
        """The entry the connector's platform profile declares (overview.md "Platform Profile")."""
        return {"version": self.version, "spec": self.spec, "schema": self.schema_url, "extends": self.extends}

    @model_validator(mode="after")
    def _members_are_free(self) -> VendorExtension:
        if CHECKOUT not in self.parents():
            raise ValueError(f"a vendor extension's members are checkout members: it must extend {CHECKOUT}")
        taken = sorted(set(self.members) & reserved_members())
        if taken:
            raise ValueError(f"members {taken} belong to the base checkout or an official extension")
        return self


def check_vendor_name(name: str, extension: VendorExtension) -> None:
    """OVR-02/04/07: ``name`` is a vendor's reverse-domain name, and its URLs are on that vendor's authority."""
    try:
        authority = namespace_authority(name)
    except ValueError as exc:
        raise ValueError(f"vendor extension {name!r}: {exc}") from exc
    if name.startswith("dev.ucp."):
        raise ValueError(f"vendor extension {name!r}: dev.ucp.* is reserved for the UCP governing body (OVR-07)")
    for what, url in (("spec", extension.spec), ("schema", extension.schema_url)):
        if not url_matches_authority(url, authority):
            raise ValueError(f"vendor extension {name!r}: {what} must be https on {authority} (OVR-04)")


def member_extensions(extensions: dict[str, VendorExtension]) -> dict[str, str]:
    """member -> vendor extension name; a member two extensions claim is refused by the caller's validator."""
    return {member: name for name, extension in extensions.items() for member in extension.members}
