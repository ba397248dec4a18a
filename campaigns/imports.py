"""Campaign contacts and do-not-call entries through the jobs engine: columns, rules, writes.

Both importers write with set-based SQL, as the address book's does: on PostgreSQL, COPY into a
staging table and one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING; elsewhere multi-row
INSERT … ON CONFLICT DO NOTHING RETURNING. The engine runs each batch in one transaction with
its checkpoint, so a re-delivered task never writes a batch twice.
"""

from __future__ import annotations

import datetime
import json
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.donotcall import (
    InvalidAddress,
    blocked_values,
    dnc_list_changed,
    initial_states,
    looks_like_phone,
    normalise,
)
from campaigns.models import (
    CampaignContact,
    ContactAddress,
    ContactList,
    DoNotCallEntry,
    DoNotCallList,
)
from contactcenter.jobs.files import FileRejected
from contactcenter.jobs.importing import BatchResult, Column, Importer, RowInvalid
from contactcenter.phones import PhoneReader

ADDRESSES = 3
VALUE_MAX = ContactAddress._meta.get_field("value").max_length
PRIORITY_MAX = 255
DEFAULT_PRIORITY = CampaignContact._meta.get_field("priority").default
YES = {"1", "yes", "y", "oui", "o", "true", "vrai", "x"}
NO = {"0", "no", "n", "non", "false", "faux", ""}
DATE_TIME_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")
# SQLite accepts at most 32,766 parameters a statement.
SQLITE_PARAMETERS = 32_000


class Bad(ValueError):
    """One value is wrong; str() says why, for the error report."""


def _address_columns() -> list[Column]:
    columns = []
    for n in range(1, ADDRESSES + 1):
        columns += [
            Column(
                f"Address {n}",
                required=n == 1,
                max_length=VALUE_MAX,
                help_text=gettext_lazy("A phone number (national or +international) or an email."),
            ),
            Column(
                f"Type {n}",
                help_text=gettext_lazy(
                    "default, home, mobile, work or email; blank: email for an email, else default."
                ),
            ),
        ]
    return columns


# The file's columns in the template's order; other columns become custom fields.
CONTACT_COLUMNS = (
    Column(
        "Contact ID",
        max_length=CampaignContact._meta.get_field("external_id").max_length,
        help_text=gettext_lazy("Unique in the campaign; generated when blank."),
    ),
    Column("Priority", help_text=gettext_lazy("0 to 255, 255 first; 100 when blank.")),
    Column("Top priority", help_text=gettext_lazy("1 or 0, yes or no, oui or non.")),
    Column(
        "Time zone",
        help_text=gettext_lazy("e.g. Europe/Paris; the campaign's when blank."),
    ),
    Column("Agent", help_text=gettext_lazy("User name of a user of the centre.")),
    Column(
        "Next try",
        help_text=gettext_lazy("dd/mm/yyyy hh:mm or yyyy-mm-dd hh:mm, in the contact's time zone."),
    ),
    *_address_columns(),
)
OWN_COLUMNS = frozenset(c.name for c in CONTACT_COLUMNS)


@cache
def _time_zones() -> dict[str, str]:
    """Every IANA name, by its case-folded form."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _kinds() -> dict[str, str]:
    """Address types by value and by label, in every language of the site."""
    kinds = {kind.value: kind.value for kind in ContactAddress.Kind}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            kinds |= {str(kind.label).casefold(): kind.value for kind in ContactAddress.Kind}
    return kinds


def _parse_date(raw: str) -> datetime.date:
    for parse in (
        lambda v: datetime.datetime.strptime(v, "%d/%m/%Y").date(),
        datetime.date.fromisoformat,
    ):
        try:
            return parse(raw)
        except ValueError:
            continue
    raise Bad(_("“%(value)s” is not a date (dd/mm/yyyy or yyyy-mm-dd)") % {"value": raw})


class ContactImportForm(forms.Form):
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("Contact list"),
        queryset=ContactList.objects.none(),
        help_text=gettext_lazy("The contacts go into this list, in list management."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        lists = ContactList.objects.for_tenant(tenant).select_related("campaign")
        field = self.fields["contact_list"]
        field.queryset = lists.order_by("campaign__name", "name")
        field.label_from_instance = lambda item: f"{item.campaign} — {item}"

    def clean_contact_list(self) -> int:
        return self.cleaned_data["contact_list"].pk


@dataclass(slots=True)
class ContactRow:
    external_id: str
    priority: int
    top_priority: bool
    time_zone: str
    agent_id: int | None
    next_try_at: datetime.datetime | None
    custom_fields: dict[str, str]
    # (value, kind), in the file's order.
    addresses: list[tuple[str, str]] = field(default_factory=list)


class CampaignContactImporter(Importer):
    target = "campaigns.campaigncontact"
    verbose_name = gettext_lazy("campaign contacts")
    permission = "campaigns.import_campaigncontact"
    undo_permission = "campaigns.delete_campaigncontact"
    columns = CONTACT_COLUMNS
    options_form = ContactImportForm
    other_columns_kept_as = gettext_lazy("custom fields")
    batch_size = 10_000

    def __init__(self, job, tenant=None):
        super().__init__(job, tenant)
        self.phones = PhoneReader(self.tenant.default_phone_region)
        self.kinds = _kinds()

    @cached_property
    def contact_list(self) -> ContactList:
        """The list chosen on the upload page, looked up again inside the job's tenant."""
        pk = self.job.options.get("params", {}).get("contact_list") if self.job else None
        lists = ContactList.objects.for_tenant(self.tenant).select_related("campaign")
        found = lists.filter(pk=pk).first() if isinstance(pk, int) else None
        if found is None:
            raise FileRejected(_("The contact list chosen for this import no longer exists."))
        return found

    @cached_property
    def agents(self) -> dict[str, int]:
        users = get_user_model().objects.filter(tenant=self.tenant, is_active=True)
        return {name.casefold(): pk for name, pk in users.values_list("username", "pk")}

    def clean_row(self, values: dict[str, str]) -> ContactRow:
        errors: list[tuple[str, str]] = []

        def read(column: str, parse, *args):
            try:
                return parse(values[column], *args)
            except Bad as exc:
                errors.append((column, str(exc)))
                return None

        # In the columns' order, so that the error report reads left to right.
        priority = read("Priority", self._priority)
        top_priority = read("Top priority", self._yes_no)
        zone = read("Time zone", self._time_zone) or self.contact_list.campaign.default_time_zone
        row = ContactRow(
            external_id=values["Contact ID"],
            priority=priority,
            top_priority=top_priority,
            time_zone=zone,
            agent_id=read("Agent", self._agent),
            next_try_at=read("Next try", self._next_try, zone),
            custom_fields={k: v for k, v in values.items() if k not in OWN_COLUMNS and v},
        )
        for n in range(1, ADDRESSES + 1):
            address = read(f"Address {n}", self._address)
            if address:
                kind = read(f"Type {n}", self._kind, "@" in address)
                row.addresses.append((address, kind))
        if errors:
            raise RowInvalid(errors)
        return row

    # --- one value each; Bad says what is wrong ---

    def _time_zone(self, raw: str) -> str | None:
        if not raw:
            return None
        name = _time_zones().get(raw.casefold())
        if name is None:
            raise Bad(_("“%(value)s” is not a time zone (e.g. Europe/Paris)") % {"value": raw})
        return name

    def _priority(self, raw: str) -> int:
        if not raw:
            return DEFAULT_PRIORITY
        if not (raw.isascii() and raw.isdigit()) or int(raw) > PRIORITY_MAX:
            raise Bad(
                _("“%(value)s” is not a whole number from 0 to %(max)d")
                % {"value": raw, "max": PRIORITY_MAX}
            )
        return int(raw)

    def _yes_no(self, raw: str) -> bool:
        answer = raw.casefold()
        if answer in YES or answer in NO:
            return answer in YES
        raise Bad(_("“%(value)s” is neither yes (1) nor no (0)") % {"value": raw})

    def _agent(self, raw: str) -> int | None:
        if not raw:
            return None
        pk = self.agents.get(raw.casefold())
        if pk is None:
            raise Bad(_("no active user “%(value)s” in your centre") % {"value": raw})
        return pk

    def _next_try(self, raw: str, zone: str) -> datetime.datetime | None:
        if not raw:
            return None
        moment = None
        for fmt in DATE_TIME_FORMATS:
            try:
                moment = datetime.datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = datetime.datetime.fromisoformat(raw)
            except ValueError:
                raise Bad(
                    _("“%(value)s” is not a date and time (dd/mm/yyyy hh:mm or yyyy-mm-dd hh:mm)")
                    % {"value": raw}
                ) from None
        # A time without an offset is the contact's local time.
        return moment if moment.tzinfo else moment.replace(tzinfo=_zone(zone))

    def _address(self, raw: str) -> str | None:
        if not raw:
            return None
        try:
            return normalise(raw, self.phones)
        except InvalidAddress as exc:
            raise Bad(str(exc)) from None

    def _kind(self, raw: str, is_email: bool) -> str:
        """An email is of the type email (blank or "default" say so too), a number of any other."""
        Kind = ContactAddress.Kind
        kind = self.kinds.get(raw.casefold()) if raw else Kind.DEFAULT
        if kind is None:
            raise Bad(
                _("“%(value)s” is not an address type (%(types)s)")
                % {"value": raw, "types": ", ".join(Kind.values)}
            )
        if kind == Kind.EMAIL and not is_email:
            raise Bad(_("the type “email” is for email addresses"))
        if is_email and kind not in (Kind.EMAIL, Kind.DEFAULT):
            raise Bad(_("the type “%(value)s” is for phone numbers") % {"value": raw})
        return Kind.EMAIL if is_email else kind

    # --- writing ---

    def write_batch(self, rows: list[tuple[int, ContactRow]]) -> BatchResult:
        result, fresh, seen = BatchResult(), [], set()
        for line, row in rows:
            # From the job and the line: the same on a re-delivery, unique in the campaign.
            row.external_id = row.external_id or f"{self._id_prefix}-{line}"
            if row.external_id in seen:
                result.rejected.append((line, self._earlier_in_file(row.external_id)))
            else:
                seen.add(row.external_id)
                fresh.append((line, row))
        ids = self._insert_contacts([row for _line, row in fresh])
        result.created = len(ids)
        refused = [(line, row.external_id) for line, row in fresh if row.external_id not in ids]
        result.rejected += self._explain_conflicts(refused)
        self._insert_addresses(
            [(ids[row.external_id], row) for _l, row in fresh if row.external_id in ids]
        )
        return result

    @cached_property
    def _id_prefix(self) -> str:
        return self.job.pk.hex[:12]

    def _earlier_in_file(self, external_id: str) -> str:
        return _("Contact ID: “%(id)s” appears earlier in the file") % {"id": external_id}

    def _explain_conflicts(self, refused: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """A refused id was taken by this very import (earlier in the file) or existed before."""
        if not refused:
            return []
        # Looked up through the unique index, then sorted here by job: a filter on the job
        # would let the planner walk every row this job has written so far.
        holders = (
            CampaignContact.objects.for_tenant(self.tenant)
            .filter(
                campaign_id=self.contact_list.campaign_id,
                external_id__in=[external_id for _line, external_id in refused],
            )
            .values_list("external_id", "import_job_id")
        )
        mine = {external_id for external_id, job_id in holders if job_id == self.job.pk}
        exists = _("Contact ID: “%(id)s” already exists in this campaign")
        return [
            (line, self._earlier_in_file(eid) if eid in mine else exists % {"id": eid})
            for line, eid in refused
        ]

    def _insert_contacts(self, rows: list[ContactRow]) -> dict[str, int]:
        """Insert what the unique constraint allows; return external id → new id."""
        if not rows:
            return {}
        contact_list, now = self.contact_list, timezone.now()
        fixed = _prepared(
            CampaignContact,
            tenant=self.tenant.pk,
            campaign=contact_list.campaign_id,
            contact_list=contact_list.pk,
            import_job=self.job.pk,
            in_processing=False,
            state=CampaignContact.State.WAITING,
            schedule_note="",
            manual_reschedules=0,
            created_at=now,
            updated_at=now,
        )
        next_try = CampaignContact._meta.get_field("next_try_at")
        values = [
            (
                *fixed.values(),
                row.external_id,
                row.priority,
                row.top_priority,
                row.time_zone,
                row.agent_id,
                next_try.get_db_prep_value(row.next_try_at, connection),
                json.dumps(row.custom_fields),
            )
            for row in rows
        ]
        columns = (
            *_columns(CampaignContact, fixed),
            *_columns(
                CampaignContact,
                [
                    "external_id",
                    "priority",
                    "top_priority",
                    "time_zone",
                    "preferred_agent",
                    "next_try_at",
                    "custom_fields",
                ],
            ),
        )
        inserted = insert_rows(
            CampaignContact._meta.db_table, columns, values, returning=("external_id", "id")
        )
        return dict(inserted)

    def _insert_addresses(self, contacts: list[tuple[int, ContactRow]]) -> None:
        """Addresses on an attached do-not-call list are Blocked; the first other one of each
        contact is Scheduled, the rest Waiting (donotcall.initial_states)."""
        blocked = blocked_values(
            tenant=self.tenant,
            campaign=self.contact_list.campaign,
            values={value for _id, row in contacts for value, _kind in row.addresses},
        )
        fixed = _prepared(ContactAddress, tenant=self.tenant.pk, attempts=0)
        values = []
        for contact_id, row in contacts:
            states = initial_states([value for value, _kind in row.addresses], blocked)
            values += [
                (*fixed.values(), contact_id, position, value, kind, state)
                for position, ((value, kind), state) in enumerate(
                    zip(row.addresses, states, strict=True)
                )
            ]
        columns = (
            *_columns(ContactAddress, fixed),
            *_columns(ContactAddress, ["contact", "position", "value", "kind", "state"]),
        )
        insert_rows(ContactAddress._meta.db_table, columns, values, conflicts=False)

    def _created(self):
        return CampaignContact.objects.for_tenant(self.tenant).filter(import_job=self.job)

    def undo(self) -> int:
        """Remove the contacts this import created (their addresses with them), only those."""
        _total, by_model = self._created().delete()
        return by_model.get(CampaignContact._meta.label, 0)

    def undo_count(self) -> int:
        return self._created().count()


# --- do-not-call entries -----------------------------------------------------------------------


class DoNotCallImportForm(forms.Form):
    dnc_list = forms.ModelChoiceField(
        label=gettext_lazy("Do-not-call list"), queryset=DoNotCallList.objects.none()
    )
    expires_on = forms.DateField(
        label=gettext_lazy("Expiry for rows without one"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "Optional. A Bloctel file is valid for 30 days: give its end date here."
        ),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dnc_list"].queryset = DoNotCallList.objects.for_tenant(tenant)

    def clean_dnc_list(self) -> int:
        return self.cleaned_data["dnc_list"].pk

    def clean_expires_on(self) -> str | None:
        expires_on = self.cleaned_data["expires_on"]
        return expires_on.isoformat() if expires_on else None


ENTRY_COLUMNS = (
    Column(
        "Value",
        required=True,
        max_length=DoNotCallEntry._meta.get_field("value").max_length,
        help_text=gettext_lazy("A phone number (national or international) or an email."),
        aliases=("numero", "numéro", "number", "phone", "telephone", "téléphone", "email"),
    ),
    Column(
        "Expires on",
        help_text=gettext_lazy("dd/mm/yyyy or yyyy-mm-dd; blank: the date chosen above, if any."),
    ),
)


class DoNotCallEntryImporter(Importer):
    target = "campaigns.donotcallentry"
    verbose_name = gettext_lazy("do-not-call numbers")
    permission = "campaigns.import_donotcalllist"
    undo_permission = "campaigns.change_donotcalllist"
    columns = ENTRY_COLUMNS
    options_form = DoNotCallImportForm
    batch_size = 10_000
    help_text = gettext_lazy(
        "Either a first row of column names, in any order and any case, or numbers alone, one a "
        "row and without a header (the Bloctel list). A value already in the list takes the "
        "file's expiry date; the campaigns the list is attached to are updated."
    )

    @classmethod
    def header_for_bare_file(cls, first_row: list[str]) -> list[str] | None:
        """A single column whose first cell is a number or an email is data, not a header."""
        if len(first_row) == 1 and (looks_like_phone(first_row[0]) or "@" in first_row[0]):
            return [ENTRY_COLUMNS[0].name]
        return None

    def __init__(self, job, tenant=None):
        super().__init__(job, tenant)
        self.phones = PhoneReader(self.tenant.default_phone_region)
        params = job.options.get("params", {}) if job else {}
        default = params.get("expires_on")
        self.default_expiry = datetime.date.fromisoformat(default) if default else None

    @cached_property
    def dnc_list(self) -> DoNotCallList:
        pk = self.job.options.get("params", {}).get("dnc_list") if self.job else None
        found = (
            DoNotCallList.objects.for_tenant(self.tenant).filter(pk=pk).first()
            if isinstance(pk, int)
            else None
        )
        if found is None:
            raise FileRejected(_("The do-not-call list chosen for this import no longer exists."))
        return found

    def clean_row(self, values: dict[str, str]) -> tuple[str, datetime.date | None]:
        errors = []
        value = expires_on = None
        try:
            value = normalise(values["Value"], self.phones) if values["Value"] else ""
        except InvalidAddress as exc:
            errors.append(("Value", str(exc)))
        try:
            raw = values["Expires on"]
            expires_on = _parse_date(raw) if raw else self.default_expiry
        except Bad as exc:
            errors.append(("Expires on", str(exc)))
        if errors:
            raise RowInvalid(errors)
        return value, expires_on

    def write_batch(self, rows: list[tuple[int, tuple]]) -> BatchResult:
        """New values are created; values already in the list take the row's expiry (updated)."""
        result, fresh, seen = BatchResult(), [], set()
        for line, (value, expires_on) in rows:
            if value in seen:
                result.rejected.append((line, self._earlier_in_file(value)))
            else:
                seen.add(value)
                fresh.append((line, value, expires_on))
        inserted = self._insert(fresh)
        result.created = len(inserted)
        refused = [item for item in fresh if item[1] not in inserted]
        updated = self._update(refused, result)
        if inserted or updated:
            dnc_list_changed(dnc_list=self.dnc_list, values=inserted | updated)
        return result

    def _earlier_in_file(self, value: str) -> str:
        return _("Value: “%(value)s” appears earlier in the file") % {"value": value}

    def _insert(self, fresh: list[tuple[int, str, datetime.date | None]]) -> set[str]:
        if not fresh:
            return set()
        fixed = _prepared(
            DoNotCallEntry, tenant=self.tenant.pk, dnc_list=self.dnc_list.pk, import_job=self.job.pk
        )
        expiry = DoNotCallEntry._meta.get_field("expires_on")
        values = [
            (*fixed.values(), value, expiry.get_db_prep_value(expires_on, connection))
            for _line, value, expires_on in fresh
        ]
        columns = (*_columns(DoNotCallEntry, fixed), "value", "expires_on")
        inserted = insert_rows(DoNotCallEntry._meta.db_table, columns, values, returning=("value",))
        return {value for (value,) in inserted}

    def _update(self, refused: list[tuple[int, str, datetime.date | None]], result) -> set[str]:
        """Values already listed: earlier in this file (rejected), or before it (new expiry)."""
        if not refused:
            return set()
        entries = DoNotCallEntry.objects.for_tenant(self.tenant).filter(dnc_list=self.dnc_list)
        # Through the unique index, not a filter on the job (see _explain_conflicts above).
        holders = entries.filter(value__in=[value for _line, value, _e in refused])
        mine = {
            value
            for value, job_id in holders.values_list("value", "import_job_id")
            if job_id == self.job.pk
        }
        by_expiry: dict[datetime.date | None, list[str]] = defaultdict(list)
        for line, value, expires_on in refused:
            if value in mine:
                result.rejected.append((line, self._earlier_in_file(value)))
            else:
                by_expiry[expires_on].append(value)
        # One UPDATE per expiry date in the batch: usually one, for a whole file.
        for expires_on, values in by_expiry.items():
            result.updated += entries.filter(value__in=values).update(expires_on=expires_on)
        return {value for values in by_expiry.values() for value in values}

    def _created(self):
        return DoNotCallEntry.objects.for_tenant(self.tenant).filter(import_job=self.job)

    def undo(self) -> int:
        """Remove the entries this import created, then release what only they blocked."""
        deleted, _by_model = self._created().delete()
        if deleted:
            dnc_list_changed(dnc_list=self.dnc_list)
        return deleted

    def undo_count(self) -> int:
        return self._created().count()


# --- set-based inserts -------------------------------------------------------------------------


def _prepared(model, **values) -> dict[str, object]:
    """Values in the database's own form (SQLite keeps UUIDs as hex text), by field name."""
    return {
        name: model._meta.get_field(name).get_db_prep_value(value, connection)
        for name, value in values.items()
    }


def _columns(model, names) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def insert_rows(
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple],
    *,
    returning: tuple[str, ...] = (),
    conflicts: bool = True,
) -> list[tuple]:
    """Insert `rows`, leaving out those a unique constraint refuses; `returning` of the others.

    `conflicts=False`: no row can conflict (the addresses of contacts just created), and on
    PostgreSQL they are copied straight into the table.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _insert_by_copy(table, columns, rows, returning, conflicts)
    return _insert_by_values(table, columns, rows, returning)


def _insert_by_copy(table, columns, rows, returning, conflicts) -> list[tuple]:
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if not conflicts:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return []
        staging = f"{table}_staging"
        # Same column types, none of the constraints: the real table's constraint decides.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {names} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "  # noqa: S608
            f"ON CONFLICT DO NOTHING {_returning(returning)}"
        )
        inserted = cursor.fetchall() if returning else []
        cursor.execute(f"TRUNCATE {staging}")
    return inserted


def _insert_by_values(table, columns, rows, returning) -> list[tuple]:
    inserted: list[tuple] = []
    width = len(columns)
    chunk_size = SQLITE_PARAMETERS // width
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start : start + chunk_size]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
                f"{', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT DO NOTHING {_returning(returning)}",
                [value for row in chunk for value in row],
            )
            if returning:
                inserted += cursor.fetchall()
    return inserted


def _returning(columns: tuple[str, ...]) -> str:
    return f"RETURNING {', '.join(columns)}" if columns else ""
