"""External contacts through the jobs engine: the file's columns, their rules, set-based writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from addressbook import models as m
from addressbook.models import ExternalContact, SearchBacklog
from contactcenter.emails import email_is_valid
from contactcenter.jobs.importing import (
    CELLS_SEPARATOR,
    BatchResult,
    Column,
    Importer,
    RowInvalid,
    SeenBefore,
    cells_text,
    copy_data,
    first_that_fits,
)
from contactcenter.models import JobRejection
from contactcenter.phones import InvalidPhone, PhoneReader

# The file's columns in the template's order; the exporter writes the same header.
COLUMNS = (
    Column("Name", required=True, max_length=m.NAME_MAX),
    Column("Address", max_length=m.ADDRESS_MAX),
    Column("Phone", max_length=m.PHONE_MAX),
    Column("Mobile", max_length=m.PHONE_MAX),
    Column("Other", max_length=m.OTHER_MAX),
    Column("Email", max_length=m.EMAIL_MAX),
)
# Table columns written by an import, in the order of the cleaned row tuple.
WRITTEN = ("name", "address", "phone", "phone_e164", "mobile", "mobile_e164", "other", "email")


@dataclass
class Prepared:
    """A batch as prepare_batch leaves it for write_batch."""

    fresh: list[tuple[int, tuple]]  # (line, row): the first row of each name in the batch
    earlier: list[tuple[int, str]]  # (line, name): a name seen earlier in the batch
    copy: bytes | None  # on PostgreSQL, `fresh` as the staging table's COPY data (copy_data)
    # Whether `copy` carries each row's file values too (cells_text), for the database to write
    # the rejections of the names it finds taken (_WRITE_PROBED_REJECTING).
    with_cells: bool = False
    # The lines of `fresh` whose name may be one of an earlier batch of the file (SeenBefore):
    # the database looks up only these (_WRITE_PROBED_SOME) while the file's names are new.
    probe: list[int] = field(default_factory=list)


# The share of a batch's rows found taken from which the next batch stages the file's values
# for the database to write their rejections (ExternalContactImporter.prepare_batch).
REJECTED_BY_SQL_FROM = 0.05
# SQLite accepts at most 32,766 parameters a statement: 2,000 rows of 12 stay well under.
VALUES_CHUNK = 2000


class ExternalContactImporter(Importer):
    target = "addressbook.externalcontact"
    verbose_name = gettext_lazy("external contacts")
    permission = "addressbook.import_externalcontact"
    undo_permission = "addressbook.delete_externalcontact"
    columns = COLUMNS
    # Up to four batches are in memory at once (the one written, two checked ahead, one being
    # checked): at 10,000 rows the worker peaked at 150–160 MB, at 5,000 at 131 MB.
    batch_size = 5_000
    checks_ahead = True  # clean_row is pure: phone numbers and emails, no database

    def __init__(self, job, tenant=None):
        super().__init__(job, tenant)
        self.phones = PhoneReader(self.tenant.default_phone_region)
        # Read here, in the worker's thread: prepare_batch runs in the check-ahead thread.
        self.copies = connection.vendor == "postgresql"
        # Whether the last batch met names the table already held (see write_batch), and how
        # many: the database writes their rejections only where they are many.
        self.names_taken = False
        self.taken_in_last_batch = 0
        # The names of the file's earlier batches, as far as prepare_batch (its thread) knows.
        self.seen_names = SeenBefore() if self.copies else None

    def clean_row(self, values: dict[str, str]) -> tuple:
        """(name, address, phone, phone_e164, mobile, mobile_e164, other, email); every fault at once."""
        phone, mobile, email = values["Phone"], values["Mobile"], values["Email"]
        # The common row in straight-line code (a million calls an import); any fault goes
        # to _faults(), which says what each one is.
        e164 = self.phones.e164
        try:
            phone_e164 = e164(phone) if phone else ""
            mobile_e164 = e164(mobile) if mobile else ""
        except InvalidPhone:
            raise RowInvalid(self._faults(values)) from None
        if email and not email_is_valid(email):
            raise RowInvalid(self._faults(values))
        return (
            values["Name"],
            values["Address"],
            phone,
            phone_e164,
            mobile,
            mobile_e164,
            values["Other"],
            email,
        )

    def _faults(self, values: dict[str, str]) -> list[tuple[str, str]]:
        errors = []
        for column in ("Phone", "Mobile"):
            raw = values[column]
            try:
                if raw:
                    self.phones.e164(raw)
            except InvalidPhone:
                errors.append(
                    (column, _("“%(value)s” is not a valid phone number") % {"value": raw})
                )
        email = values["Email"]
        if email and not email_is_valid(email):
            errors.append(
                ("Email", _("“%(value)s” is not a valid email address") % {"value": email})
            )
        return errors

    def prepare_batch(self, rows: list[tuple[int, tuple]], cells=None) -> Prepared:
        """A name seen earlier in the batch set aside; on PostgreSQL the others as COPY text,
        with their file values (`cells`) while the file's names are being found taken.

        Runs in the check-ahead thread: pure Python, no database. It reads names_taken as the
        worker's thread left it a batch or two ago; write_batch copes with either answer.
        """
        fresh, earlier, seen, probe = [], [], set(), []
        seen_before = self.seen_names.add if self.seen_names is not None else None
        for line, row in rows:
            # The unique constraint's key: the name is stripped already, lower-cased here.
            key = row[0].lower()
            if key in seen:
                earlier.append((line, row[0]))
            else:
                seen.add(key)
                fresh.append((line, row))
                if seen_before is not None and seen_before(key):
                    probe.append(line)
        if not self.copies:
            return Prepared(fresh, earlier, None)
        # A file that repeats a name of an earlier batch now and then (one row in a thousand)
        # is not worth staging its values with every row: those refusals stay Python's.
        if cells is None or self.taken_in_last_batch < len(rows) * REJECTED_BY_SQL_FROM:
            return Prepared(fresh, earlier, copy_data(fresh), probe=probe)
        staged = [(line, row, cells_text(cells[line])) for line, row in fresh]
        if any(text is None for _line, _row, text in staged):
            return Prepared(fresh, earlier, copy_data(fresh), probe=probe)
        with_cells = [(line, (*row, text)) for line, row, text in staged]
        return Prepared(fresh, earlier, copy_data(with_cells), with_cells=True, probe=probe)

    def write_batch(self, rows: list[tuple[int, tuple]] | Prepared) -> BatchResult:
        """Create what the unique name allows; every other row is refused with its reason."""
        batch = rows if isinstance(rows, Prepared) else self.prepare_batch(rows)
        # The two reasons a name is refused (taken earlier in the file: True), translated once
        # a batch: a file whose names mostly exist refuses half a million of them.
        reasons = {
            True: _("Name: “%(name)s” appears earlier in the file"),
            False: _("Name: “%(name)s” already exists"),
        }
        result = BatchResult()
        refused = [(line, name, True) for line, name in batch.earlier]
        if batch.copy is not None:
            refused += self._write_by_copy(batch, reasons, result)
        elif batch.fresh:
            refused += self._write_by_values(batch.fresh, result)
        result.rejected = sorted(
            (line, reasons[earlier] % {"name": name}) for line, name, earlier in refused
        )
        return result

    def _write_by_copy(
        self, batch: Prepared, reasons: dict[bool, str], result: BatchResult
    ) -> list[tuple[int, str, bool]]:
        """PostgreSQL: COPY into a staging table, then one statement does the rest.

        It inserts the rows the unique constraint lets in, records the batch's range of ids
        for the search task, and either writes the rejections of the rows refused itself or
        lists them, so that nothing comes back to Python but counts and the refused rows:
        (line, name, taken earlier in the file).
        """
        params = {
            "tenant": self.tenant.pk,
            "job": self.job.pk,
            "now": timezone.now(),
            "taken_earlier": reasons[True],
            "taken": reasons[False],
            "name_field": "%(name)s",
            "cells_separator": CELLS_SEPARATOR,
            "probe": batch.probe,
        }
        staged = ", ".join((*_STAGED, "cells") if batch.with_cells else _STAGED)
        with connection.cursor() as cursor:
            # Emptied first: ON COMMIT does it in production, but not between savepoints.
            cursor.execute(f"{_STAGING}; TRUNCATE addressbook_staging")
            with cursor.cursor.copy(f"COPY addressbook_staging ({staged}) FROM STDIN") as copy:
                copy.write(batch.copy)
            # The cheapest statement that fits: while the file's names are new, a plain INSERT,
            # or one that looks up only the names that may repeat an earlier batch's; after a
            # batch that met taken names, one behind a look-up of each name (which also writes
            # their rejections when the batch carries the file's values); ON CONFLICT for
            # what they all miss (a name written meanwhile by someone else, two names the
            # database folds alike and Python not).
            if self.names_taken and batch.with_cells:
                statements = (_WRITE_PROBED_REJECTING, _WRITE_STAGED)
            elif self.names_taken:
                statements = (_WRITE_PROBED, _WRITE_STAGED)
            elif batch.probe:
                statements = (_WRITE_PROBED_SOME, _WRITE_PROBED, _WRITE_STAGED)
            else:
                statements = (_INSERT_STAGED, _WRITE_PROBED, _WRITE_STAGED)
            rows = first_that_fits(cursor, params, *statements)
        refused, foreseen, probed = [], 0, set(batch.probe)
        for line, name, earlier, count in rows:
            if line == 0:
                result.created = count
            elif line == -1:
                result.rejected_written = count
            else:
                refused.append((line, name, earlier))
                foreseen += line in probed
        # Names of the file already in the table come in runs (a file imported twice, or
        # extended): a batch after one that met none is tried plainly again. A name the
        # filter foresaw (an earlier batch's) says nothing of the next batch.
        self.taken_in_last_batch = len(refused) - foreseen + result.rejected_written
        self.names_taken = self.taken_in_last_batch > 0
        return refused

    def _write_by_values(
        self, fresh: list[tuple[int, tuple]], result: BatchResult
    ) -> list[tuple[int, str, bool]]:
        """Elsewhere (SQLite): multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, in chunks."""
        inserted = _insert_by_values([row for _line, row in fresh], self._meta())
        result.created = len(inserted)
        if inserted:
            # Their search rows come after the import (addressbook.tasks.index_contacts); till
            # then searches scan this range. Same transaction as the rows: both or neither.
            ids = inserted.values()
            SearchBacklog.objects.create(tenant=self.tenant, first_id=min(ids), last_id=max(ids))
        refused = [(line, row[0]) for line, row in fresh if row[0] not in inserted]
        return self._explain_conflicts(refused)

    def _explain_conflicts(self, refused: list[tuple[int, str]]) -> list[tuple[int, str, bool]]:
        """A refused name was taken by this very import (earlier in the file) or existed before."""
        if not refused:
            return []
        # Compared as the constraint compares: "MARTIN" was refused for an earlier "Martin".
        # Looked up by name alone (the unique index), then sorted here by job: a filter on
        # the job would let the planner walk every row this job has written so far.
        holders = (
            ExternalContact.objects.for_tenant(self.tenant)
            .named(*[name for _line, name in refused])
            .values_list("name", "import_job_id")
        )
        mine = {taken.lower() for taken, job_id in holders if job_id == self.job.pk}
        return [(line, name, name.lower() in mine) for line, name in refused]

    def after_run(self) -> None:
        """Write the search rows of what this import created, in a task of its own."""
        from addressbook.tasks import index_contacts

        # The batches are committed by now (each in its own transaction).
        index_contacts.delay(self.tenant.pk)

    def _meta(self) -> tuple:
        """tenant, import job, created and updated, in the database's own form (SQLite keeps
        UUIDs as hex text)."""
        now = timezone.now()
        fields = ExternalContact._meta
        return tuple(
            fields.get_field(name).get_db_prep_value(value, connection)
            for name, value in (
                ("tenant", self.tenant.pk),
                ("import_job", self.job.pk),
                ("created_at", now),
                ("updated_at", now),
            )
        )

    def undo(self) -> int:
        """Remove the contacts this import created, and only those."""
        from addressbook import services

        created = ExternalContact.objects.for_tenant(self.tenant).filter(import_job=self.job)
        return services.contacts_delete(contacts=created)

    def undo_count(self) -> int:
        return ExternalContact.objects.for_tenant(self.tenant).filter(import_job=self.job).count()


_TABLE = ExternalContact._meta.db_table
_INSERT_COLUMNS = ("tenant_id", "import_job_id", "created_at", "updated_at", *WRITTEN)
_STAGED = ("line", *WRITTEN)
# Same columns as the contacts' table, none of its constraints: the table's constraint decides.
# `cells`: the row's file values (cells_text), staged only for _WRITE_PROBED_REJECTING.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS addressbook_staging "
    f"(line integer, {', '.join(f'{name} text' for name in WRITTEN)}, cells text) "
    "ON COMMIT DELETE ROWS"
)
_WRITTEN_COLUMNS = ", ".join(WRITTEN)
_KEY = "lower(trim({}name))"


def _inserting(source: str, *, on_conflict: bool = False) -> str:
    """The sub-statements every batch statement begins with (PostgreSQL): `inserted`, the rows
    of `source` inserted in file order (returning id and name); `backlog`, their range of ids
    for addressbook.tasks.index_contacts."""
    conflict = "\n    ON CONFLICT DO NOTHING" if on_conflict else ""
    return f"""
inserted AS (
    INSERT INTO {_TABLE} ({", ".join(_INSERT_COLUMNS)})
    SELECT %(tenant)s, %(job)s, %(now)s, %(now)s, {_WRITTEN_COLUMNS}
    FROM {source} ORDER BY line{conflict}
    RETURNING id, name
), backlog AS (
    INSERT INTO {SearchBacklog._meta.db_table} (tenant_id, first_id, last_id, created_at)
    SELECT %(tenant)s, min(id), max(id), %(now)s FROM inserted HAVING count(*) > 0
)"""  # noqa: S608


# Whether the staged row `s`'s name is taken, and by this job (earlier in the file: true) or
# not; NULL when it is free. Through the unique index: a subquery for each row, which the
# planner cannot turn into a scan of the whole table.
_HOLDER = f"""(
    SELECT coalesce(h.import_job_id = %(job)s, false) FROM {_TABLE} h
    WHERE h.tenant_id = %(tenant)s AND {_KEY.format("h.")} = {_KEY.format("s.")}
)"""  # noqa: S608
# The batch statements (see write_batch), each over the staged rows (names first in their
# batch). Their rows: (0, '', false, created), then the refused rows (line, name, taken
# earlier in the file, 0).
# A batch none of whose names is taken: plainly.
_INSERT_STAGED = f"""
WITH {_inserting("addressbook_staging")}
SELECT 0, '', false, count(*) FROM inserted
"""  # noqa: S608


def _probed(holder: str) -> str:
    """`staged`: the staged rows with `holder` as `earlier`; `inserted`: those it finds free."""
    return f"""
WITH staged AS MATERIALIZED (
    SELECT s.*, {holder} AS earlier FROM addressbook_staging s
), {_inserting("staged WHERE earlier IS NULL")}
"""  # noqa: S608


# Behind a look-up of each name: a name taken is refused, the others inserted plainly.
_PROBED = _probed(_HOLDER)
_REFUSED = """
SELECT 0, '', false, (SELECT count(*) FROM inserted)
UNION ALL
SELECT line, name, earlier, 0 FROM staged WHERE earlier IS NOT NULL
"""
_WRITE_PROBED = _PROBED + _REFUSED
# The same, looking up only the rows of %(probe)s (Prepared.probe); a taken name among the
# others stops it, as it stops a plain INSERT.
_WRITE_PROBED_SOME = (
    _probed(f"CASE WHEN s.line = ANY(%(probe)s::integer[]) THEN {_HOLDER} END") + _REFUSED
)
# The same, also writing the rejections of the names it finds taken, from the file values
# staged with the rows, in the words write_batch would use (%(name)s replaced): no refused
# row comes back to Python. Its rows: (0, created) and (-1, rejections written).
_WRITE_PROBED_REJECTING = f"""{_PROBED}
, rejected AS (
    INSERT INTO {JobRejection._meta.db_table} (job_id, line, "values", reason)
    SELECT %(job)s, line, to_jsonb(string_to_array(cells, %(cells_separator)s)),
        replace(CASE WHEN earlier THEN %(taken_earlier)s ELSE %(taken)s END, %(name_field)s, name)
    FROM staged WHERE earlier IS NOT NULL
    RETURNING 1
)
SELECT 0, '', false, (SELECT count(*) FROM inserted)
UNION ALL
SELECT -1, '', false, (SELECT count(*) FROM rejected)
"""  # noqa: S608
# What the unique constraint lets in, whatever happens meanwhile. The sub-statements share
# one snapshot, so a holder looked up is a row that existed before this statement; none means
# one this statement inserted (two names the database folds alike and Python not).
_WRITE_STAGED = f"""
WITH {_inserting("addressbook_staging", on_conflict=True)}
SELECT 0, '', false, (SELECT count(*) FROM inserted)
UNION ALL
SELECT s.line, s.name, coalesce({_HOLDER}, true), 0 FROM addressbook_staging s
WHERE NOT EXISTS (SELECT FROM inserted i WHERE i.name = s.name)
"""  # noqa: S608


def _insert_by_values(rows: list[tuple], meta: tuple) -> dict[str, int]:
    """Insert what the unique constraint allows; return the names inserted and their ids."""
    inserted: dict[str, int] = {}
    width = len(_INSERT_COLUMNS)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), VALUES_CHUNK):
            chunk = rows[start : start + VALUES_CHUNK]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            params = [value for row in chunk for value in (*meta, *row)]
            cursor.execute(
                f"INSERT INTO {_TABLE} ({', '.join(_INSERT_COLUMNS)}) VALUES {placeholders} "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING name, id",
                params,
            )
            inserted.update(cursor.fetchall())
    return inserted
