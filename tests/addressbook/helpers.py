"""Helpers shared by the address book's tests."""

from __future__ import annotations

import re

from django.urls import reverse

from contactcenter.phones import to_e164
from tests.factories import ExternalContactFactory

TARGET = "addressbook.externalcontact"
IMPORT_URL = reverse("import_start", args=[TARGET])
HEADER = ["Name", "Address", "Phone", "Mobile", "Other", "Email"]


def contact(tenant, name: str, phone: str = "", mobile: str = "", **fields):
    """An external contact with its numbers stored as the form stores them (E.164 beside)."""
    region = tenant.default_phone_region
    e164 = {
        f"{field}_e164": to_e164(number, region) if number else ""
        for field, number in (("phone", phone), ("mobile", mobile))
    }
    return ExternalContactFactory(
        tenant=tenant, name=name, phone=phone, mobile=mobile, **e164, **fields
    )


def listed_ids(response) -> list[int]:
    """The contact ids of the rendered table, in their order on the page."""
    return [int(pk) for pk in re.findall(r'data-contact="(\d+)"', response.content.decode())]
