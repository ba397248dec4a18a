"""External contacts through the jobs engine: the file's columns, their rules, set-based writes."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from addressbook import models as m
from addressbook.models import ExternalContact, SearchBacklog
from contactcenter.jobs.importing import BatchResult, Column, Importer, RowInvalid
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
# Django's own patterns, compiled here: through validate_email's lazy objects they cost several
# times more. Whatever they do not accept at once, validate_email itself judges.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, re.IGNORECASE)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, re.IGNORECASE)


def email_is_valid(value: str) -> bool:
    """validate_email's verdict, quickly on the common forms."""
    user, at, domain = value.rpartition("@")
    if at and len(value) <= 320 and _EMAIL_USER.match(user) and _EMAIL_DOMAIN.match(domain):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


# SQLite accepts at most 32,766 parameters a statement: 2,000 rows of 12 stay well under.
VALUES_CHUNK = 2000


class ExternalContactImporter(Importer):
    target = "addressbook.externalcontact"
    verbose_name = gettext_lazy("external contacts")
    permission = "addressbook.import_externalcontact"
    undo_permission = "addressbook.delete_externalcontact"
    columns = COLUMNS
    batch_size = 10_000
    checks_ahead = True  # clean_row is pure: phone numbers and emails, no database

    def __init__(self, job, tenant=None):
        super().__init__(job, tenant)
        self.phones = PhoneReader(self.tenant.default_phone_region)

    def clean_row(self, values: dict[str, str]) -> tuple:
        """(name, address, phone, phone_e164, mobile, mobile_e164, other, email); every fault at once."""
        errors = []
        numbers = {}
        for column in ("Phone", "Mobile"):
            raw = values[column]
            try:
                numbers[column] = self.phones.e164(raw) if raw else ""
            except InvalidPhone:
                errors.append(
                    (column, _("“%(value)s” is not a valid phone number") % {"value": raw})
                )
        email = values["Email"]
        if email and not email_is_valid(email):
            errors.append(
                ("Email", _("“%(value)s” is not a valid email address") % {"value": email})
            )
        if errors:
            raise RowInvalid(errors)
        return (
            values["Name"],
            values["Address"],
            values["Phone"],
            numbers["Phone"],
            values["Mobile"],
            numbers["Mobile"],
            values["Other"],
            email,
        )

    def write_batch(self, rows: list[tuple[int, tuple]]) -> BatchResult:
        result, fresh, seen = BatchResult(), [], set()
        for line, row in rows:
            key = row[0].lower()
            if key in seen:
                result.rejected.append((line, self._earlier_in_file(row[0])))
            else:
                seen.add(key)
                fresh.append((line, row))
        inserted = self._insert([row for _line, row in fresh])
        result.created = len(inserted)
        if inserted:
            # Their search rows come after the import (addressbook.tasks.index_contacts); till
            # then searches scan this range. Same transaction as the rows: both or neither.
            ids = inserted.values()
            SearchBacklog.objects.create(tenant=self.tenant, first_id=min(ids), last_id=max(ids))
        refused = [(line, row[0]) for line, row in fresh if row[0] not in inserted]
        result.rejected += self._explain_conflicts(refused)
        return result

    def _earlier_in_file(self, name: str) -> str:
        return _("Name: “%(name)s” appears earlier in the file") % {"name": name}

    def _explain_conflicts(self, refused: list[tuple[int, str]]) -> list[tuple[int, str]]:
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
        exists = _("Name: “%(name)s” already exists")
        return [
            (line, self._earlier_in_file(name) if name.lower() in mine else exists % {"name": name})
            for line, name in refused
        ]

    def after_run(self) -> None:
        """Write the search rows of what this import created, in a task of its own."""
        from addressbook.tasks import index_contacts

        # The batches are committed by now (each in its own transaction).
        index_contacts.delay(self.tenant.pk)

    def _insert(self, rows: list[tuple]) -> dict[str, int]:
        """Insert what the unique constraint allows; return the names inserted and their ids."""
        if not rows:
            return {}
        now = timezone.now()
        # Raw SQL gets values in the database's own form (SQLite keeps UUIDs as hex text).
        fields = ExternalContact._meta
        meta = tuple(
            fields.get_field(name).get_db_prep_value(value, connection)
            for name, value in (
                ("tenant", self.tenant.pk),
                ("import_job", self.job.pk),
                ("created_at", now),
                ("updated_at", now),
            )
        )
        if connection.vendor == "postgresql":
            return _insert_by_copy(rows, meta)
        return _insert_by_values(rows, meta)

    def undo(self) -> int:
        """Remove the contacts this import created, and only those."""
        from addressbook import services

        created = ExternalContact.objects.for_tenant(self.tenant).filter(import_job=self.job)
        return services.contacts_delete(contacts=created)

    def undo_count(self) -> int:
        return ExternalContact.objects.for_tenant(self.tenant).filter(import_job=self.job).count()


_TABLE = ExternalContact._meta.db_table
_INSERT_COLUMNS = ("tenant_id", "import_job_id", "created_at", "updated_at", *WRITTEN)


def _insert_by_copy(rows: list[tuple], meta: tuple) -> dict[str, int]:
    """PostgreSQL: COPY into a staging table, then one INSERT … SELECT … ON CONFLICT."""
    columns = ", ".join(_INSERT_COLUMNS)
    with connection.cursor() as cursor:
        # Same column types, none of the constraints: the real table's constraint decides.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS addressbook_staging ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {columns} FROM {_TABLE} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY addressbook_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*meta, *row))
        cursor.execute(
            f"INSERT INTO {_TABLE} ({columns}) SELECT {columns} FROM addressbook_staging "  # noqa: S608
            f"ON CONFLICT DO NOTHING RETURNING name, id"
        )
        inserted = dict(cursor.fetchall())
        cursor.execute("TRUNCATE addressbook_staging")
    return inserted


def _insert_by_values(rows: list[tuple], meta: tuple) -> dict[str, int]:
    """Elsewhere (SQLite): multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, in chunks."""
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
