"""Watching which statements an import's batches were written by (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, connection


@contextmanager
def inserts_into(table: str) -> Iterator[list[tuple[str, bool]]]:
    """[(kind, succeeded)] of each INSERT INTO `table` run in the block, in order. kind:
    "conflict" (ON CONFLICT), "probed" (behind a look-up of each key), "probed some" (of the
    keys it is given), "rejecting" (of each key, writing the rejections too) or "plain"."""
    seen: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        if f"INSERT INTO {table}" not in sql:
            return execute(sql, params, many, context)
        if "ON CONFLICT" in sql:
            kind = "conflict"
        elif "MATERIALIZED" in sql:
            if "jobrejection" in sql:
                kind = "rejecting"
            else:
                kind = "probed some" if "= ANY(" in sql else "probed"
        else:
            kind = "plain"
        try:
            result = execute(sql, params, many, context)
        except IntegrityError:
            seen.append((kind, False))
            raise
        seen.append((kind, True))
        return result

    with connection.execute_wrapper(record):
        yield seen
