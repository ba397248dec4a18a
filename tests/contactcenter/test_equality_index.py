"""EqualityIndex: a hash index on PostgreSQL, a B-tree elsewhere, of one column."""

from __future__ import annotations

import pytest
from django.db import connection

from campaigns.models import ContactAddress
from contactcenter.models import EqualityIndex


def test_it_covers_one_column_only():
    with pytest.raises(ValueError, match="one column"):
        EqualityIndex(fields=["tenant", "value"], name="two_columns")


def test_it_is_a_hash_index_on_postgresql_only(db):
    index = EqualityIndex(fields=["value"], name="some_value")
    # Only the statement is built: the editor is never entered, so nothing runs.
    sql = str(index.create_sql(ContactAddress, connection.schema_editor()))
    assert ("USING hash" in sql) == (connection.vendor == "postgresql")
    assert '"value"' in sql


def test_its_migrations_write_it_back_as_itself():
    path, _args, kwargs = EqualityIndex(fields=["value"], name="some_value").deconstruct()
    assert path == "contactcenter.models.EqualityIndex"
    assert kwargs == {"fields": ["value"], "name": "some_value"}
