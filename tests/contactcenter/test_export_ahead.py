"""Exports fetch the next chunks on a connection of their own (PostgreSQL, outside a
transaction): same rows in the same order, no thread left behind, errors passed on."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from addressbook.models import ExternalContact
from contactcenter.jobs import exporting
from tests.factories import ExternalContactFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="server-side cursors: PostgreSQL only"
    ),
]


def fetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-fetch-ahead"]


@pytest.fixture
def many(tenant_a, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK", 7)  # several chunks for 50 rows
    ExternalContactFactory.create_batch(50, tenant=tenant_a)
    return ExternalContact.objects.for_tenant(tenant_a).order_by("name").values_list("name", "pk")


def test_rows_fetched_ahead_are_the_rows_in_their_order(many):
    assert not connection.in_atomic_block
    assert list(exporting._fetched_ahead(many)) == list(many)
    assert not fetch_threads()


def test_stopping_early_stops_the_thread(many):
    rows = exporting._fetched_ahead(many, depth=1)
    assert next(rows) == many[0]
    rows.close()
    assert not fetch_threads()


def test_an_error_while_fetching_reaches_the_reader(many):
    broken = many.extra(where=["1/0 = 1"])
    with pytest.raises(Exception, match="division by zero"):
        list(exporting._fetched_ahead(broken))
    assert not fetch_threads()
