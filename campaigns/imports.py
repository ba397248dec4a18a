"""Campaign contacts and do-not-call entries through the jobs engine: columns, rules, writes.

Both importers write with set-based SQL, as the address book's does: on PostgreSQL, COPY into a
staging table, then INSERT … SELECT … ON CONFLICT DO NOTHING (for contacts one statement a batch
writes the contacts, their addresses and the refused rows' reasons); elsewhere multi-row
INSERT … ON CONFLICT DO NOTHING RETURNING. The engine runs each batch in one transaction with
its checkpoint, so a re-delivered task never writes a batch twice.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from json.encoder import encode_basestring_ascii as _quoted

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
from contactcenter.jobs.importing import (
    BatchResult,
    Column,
    Importer,
    RowInvalid,
    copy_data,
    first_that_fits,
)
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
ADDRESS_COLUMNS = tuple((f"Address {n}", f"Type {n}") for n in range(1, ADDRESSES + 1))


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


LAUNCH_PERMISSION = "campaigns.launch_campaigncontact"


class ContactImportForm(forms.Form):
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("Contact list"),
        queryset=ContactList.objects.none(),
        help_text=gettext_lazy("The contacts go into this list."),
    )
    # For those who may launch contacts only (__init__; the importer checks again).
    launch = forms.BooleanField(
        label=gettext_lazy("Launch the imported contacts"),
        required=False,
        help_text=gettext_lazy(
            "Ticked, they go into contact management and the dialer may call them as soon as "
            "they are written; otherwise they wait in list management until they are launched."
        ),
    )

    def __init__(self, *args, tenant, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None or not user.has_perm(LAUNCH_PERMISSION):
            del self.fields["launch"]
        lists = ContactList.objects.for_tenant(tenant).select_related("campaign")
        field = self.fields["contact_list"]
        field.queryset = lists.order_by("campaign__name", "name")
        field.label_from_instance = lambda item: f"{item.campaign} — {item}"

    def clean_contact_list(self) -> int:
        return self.cleaned_data["contact_list"].pk


class CampaignContactImporter(Importer):
    target = "campaigns.campaigncontact"
    verbose_name = gettext_lazy("campaign contacts")
    permission = "campaigns.import_campaigncontact"
    undo_permission = "campaigns.delete_campaigncontact"
    columns = CONTACT_COLUMNS
    options_form = ContactImportForm
    other_columns_kept_as = gettext_lazy("custom fields")
    batch_size = 5_000
    # clean_row reads only what __init__ loaded (the agents, the campaign's time zone).
    checks_ahead = True
    # Batches are keyed by Contact ID (Prepared.keys), and stage_batch draws the contacts'
    # ids, so that they follow the file even when two batches are written at once.
    writes_in_parallel = True

    def __init__(self, job, tenant=None):
        super().__init__(job, tenant)
        self.phones = PhoneReader(self.tenant.default_phone_region)
        self.kinds = _kinds()
        params = self.job.options.get("params", {}) if self.job else {}
        pk = params.get("contact_list")
        # Into contact management at once, if asked by someone who may launch contacts.
        requester = self.job.requester if self.job else None
        self.launch = bool(params.get("launch")) and bool(
            requester and requester.has_perm(LAUNCH_PERMISSION)
        )
        lists = ContactList.objects.for_tenant(self.tenant).select_related("campaign")
        self._list = lists.filter(pk=pk).first() if isinstance(pk, int) else None
        self._zone = self._list.campaign.default_time_zone if self._list else None
        users = get_user_model().objects.filter(tenant=self.tenant, is_active=True)
        self.agents = {name.casefold(): pk for name, pk in users.values_list("username", "pk")}
        # The file's other columns (custom fields): the same for every row of a file.
        self._others: tuple[int, list[str]] = (-1, [])
        # Whether the last batch met Contact IDs the campaign already held (_write_by_copy).
        self.ids_taken = False
        # Read here, in the worker's thread: prepare_batch runs in the check-ahead thread.
        self.copies = connection.vendor == "postgresql"

    @property
    def contact_list(self) -> ContactList:
        """The list chosen on the upload page, looked up again inside the job's tenant."""
        if self._list is None:
            raise FileRejected(_("The contact list chosen for this import no longer exists."))
        return self._list

    def clean_row(self, values: dict[str, str]) -> tuple:
        """(Contact ID, priority, top priority, time zone, agent, next try, custom fields as JSON,
        then ADDRESSES pairs of address and type, "" where none): the staging table's columns.
        Addresses are packed to the front, in the file's order."""
        errors: list[tuple[str, str]] = []

        def read(column: str, parse, *args):
            try:
                return parse(values[column], *args)
            except Bad as exc:
                errors.append((column, str(exc)))
                return None

        # In the columns' order, so that the error report reads left to right. Blank cells,
        # most of them, skip their parser.
        raw = values["Priority"]
        priority = read("Priority", self._priority) if raw else DEFAULT_PRIORITY
        raw = values["Top priority"]
        top_priority = read("Top priority", self._yes_no) if raw else False
        raw = values["Time zone"]
        zone = (read("Time zone", self._time_zone) if raw else None) or self._default_zone
        raw = values["Agent"]
        agent_id = read("Agent", self._agent) if raw else None
        raw = values["Next try"]
        next_try_at = read("Next try", _next_try, zone) if raw else None
        addresses: list[str] = []
        for address_column, type_column in ADDRESS_COLUMNS:
            raw = values[address_column]
            if raw:
                # read(), inlined: a million rows have nearly two million addresses.
                try:
                    address = normalise(raw, self.phones)
                except InvalidAddress as exc:
                    errors.append((address_column, str(exc)))
                    continue
                addresses += (address, read(type_column, self._kind, "@" in address))
        if errors:
            raise RowInvalid(errors)
        size, others = self._others
        if size != len(values):
            others = [k for k in values if k not in OWN_COLUMNS]
            self._others = (len(values), others)
        custom = {k: values[k] for k in others if values[k]} if others else {}
        addresses += [""] * (2 * ADDRESSES - len(addresses))
        return (
            values["Contact ID"],
            priority,
            top_priority,
            zone,
            agent_id,
            next_try_at,
            _json_object(custom) if custom else "{}",
            *addresses,
        )

    @property
    def _default_zone(self) -> str:
        return self._zone or self.contact_list.campaign.default_time_zone

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

    def prepare_batch(self, rows: list[tuple[int, tuple]], cells=None) -> Prepared:
        """A blank Contact ID becomes one made from the job and the line (the same on a
        re-delivery, unique in the campaign); one seen earlier in the batch is refused; on
        PostgreSQL the others are written as COPY text, for a campaign that blocks nothing.

        Runs in the check-ahead thread: pure Python, no database.
        """
        fresh, rejected, seen = [], [], set()
        for line, row in rows:
            external_id = row[0]
            if not external_id:
                external_id = f"{self._id_prefix}-{line}"
                row = (external_id, *row[1:])
            if external_id in seen:
                rejected.append((line, self._earlier_in_file(external_id)))
            else:
                seen.add(external_id)
                fresh.append((line, row))
        copy = _staged_text(fresh, set()) if self.copies else None
        return Prepared(fresh, rejected, copy, keys=seen)

    def stage_batch(self, rows: list[tuple[int, tuple]] | Prepared) -> None:
        """PostgreSQL: the batch COPYed into this connection's staging table, where each row
        draws its contact's id from the table's sequence, in file order (the dialer takes
        contacts of equal priority by id)."""
        if not isinstance(rows, Prepared) or rows.copy is None or rows.staged:
            return
        blocked = self._blocked(rows.fresh)
        # Written again with the addresses' states where the campaign blocks some.
        text = _staged_text(rows.fresh, blocked) if blocked else rows.copy
        with connection.cursor() as cursor:
            # Emptied first: ON COMMIT does it in production, but not between savepoints.
            cursor.execute(f"{_staging(self._id_sequence)}; TRUNCATE {_STAGING_TABLE}")
            with cursor.cursor.copy(_COPY_STAGED) as copy:
                copy.write(text)
        rows.staged = True

    @cached_property
    def _id_sequence(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_CONTACTS])
            return cursor.fetchone()[0]

    def write_batch(self, rows: list[tuple[int, tuple]] | Prepared) -> BatchResult:
        """Create what the unique Contact ID allows, with their addresses; every other row is
        refused with its reason."""
        batch = rows if isinstance(rows, Prepared) else self.prepare_batch(rows)
        result = BatchResult(rejected=list(batch.rejected))
        if batch.fresh and batch.copy is not None:
            self.stage_batch(batch)
            self._write_staged(batch, result)
        elif batch.fresh:
            self._write_by_values(batch.fresh, result)
        return result

    @cached_property
    def _id_prefix(self) -> str:
        return self.job.pk.hex[:12]

    def _earlier_in_file(self, external_id: str) -> str:
        return _("Contact ID: “%(id)s” appears earlier in the file") % {"id": external_id}

    def _already_exists(self, external_id: str) -> str:
        return _("Contact ID: “%(id)s” already exists in this campaign") % {"id": external_id}

    def _blocked(self, rows: list[tuple[int, tuple]]) -> set[str]:
        """The batch's addresses that a do-not-call list attached to the campaign holds. Most
        campaigns have none attached: one small query then, not one with every address."""
        campaign = self.contact_list.campaign
        if not campaign.do_not_call_lists.exists():
            return set()
        values = {row[i] for _line, row in rows for i in _VALUE_INDEXES if row[i]}
        return blocked_values(tenant=self.tenant, campaign=campaign, values=values)

    def _write_staged(self, batch: Prepared, result: BatchResult) -> None:
        """PostgreSQL: the staged batch (stage_batch) written by one statement.

        It inserts the rows and the addresses of those it could, and lists the rows refused
        and why: nothing comes back to Python but the count and the refused rows.
        """
        contact_list = self.contact_list
        with connection.cursor() as cursor:
            params = {
                "tenant": self.tenant.pk,
                "campaign": contact_list.campaign_id,
                "list": contact_list.pk,
                "job": self.job.pk,
                "launch": self.launch,
                "now": timezone.now(),
                "free": _FREE_STATES,
            }
            # Plainly while the file's Contact IDs are new (see first_that_fits); after a
            # batch that met taken ones, straight to ON CONFLICT.
            statements = (_WRITE_STAGED,) if self.ids_taken else (_INSERT_STAGED, _WRITE_STAGED)
            refused = 0
            for line, external_id, earlier, created in first_that_fits(cursor, params, *statements):
                if line == 0:
                    result.created = created
                else:
                    refused += 1
                    reason = self._earlier_in_file if earlier else self._already_exists
                    result.rejected.append((line, reason(external_id)))
        self.ids_taken = refused > 0

    def _write_by_values(self, rows: list[tuple[int, tuple]], result: BatchResult) -> None:
        """Elsewhere (SQLite): multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, in chunks."""
        ids = self._insert_contacts([row for _line, row in rows])
        result.created = len(ids)
        refused = [(line, row[0]) for line, row in rows if row[0] not in ids]
        result.rejected += self._explain_conflicts(refused)
        self._insert_addresses([(ids[row[0]], row) for _l, row in rows if row[0] in ids])

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
        return [
            (line, (self._earlier_in_file if eid in mine else self._already_exists)(eid))
            for line, eid in refused
        ]

    def _insert_contacts(self, rows: list[tuple]) -> dict[str, int]:
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
            in_processing=self.launch,
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
                *row[:5],
                next_try.get_db_prep_value(row[5], connection),
                row[6],
            )
            for row in rows
        ]
        columns = (*_columns(CampaignContact, fixed), *_columns(CampaignContact, _CONTACT_FIELDS))
        inserted = _insert_by_values(
            CampaignContact._meta.db_table, columns, values, returning=("external_id", "id")
        )
        return dict(inserted)

    def _insert_addresses(self, contacts: list[tuple[int, tuple]]) -> None:
        """Addresses on an attached do-not-call list are Blocked; the first other one of each
        contact is Scheduled, the rest Waiting (donotcall.initial_states)."""
        blocked = self._blocked(contacts)
        fixed = _prepared(ContactAddress, tenant=self.tenant.pk, attempts=0)
        values = []
        for contact_id, row in contacts:
            states = _states(row, blocked)
            present = [i for i in _VALUE_INDEXES if row[i]]
            values += [
                (*fixed.values(), contact_id, position, row[i], row[i + 1], state)
                for position, (i, state) in enumerate(
                    zip(present, states.split(",") if states else _FREE_STATES, strict=False)
                )
            ]
        columns = (
            *_columns(ContactAddress, fixed),
            *_columns(ContactAddress, ["contact", "position", "value", "kind", "state"]),
        )
        _insert_by_values(ContactAddress._meta.db_table, columns, values, returning=())

    def _created(self):
        return CampaignContact.objects.for_tenant(self.tenant).filter(import_job=self.job)

    def undo(self) -> int:
        """Remove the contacts this import created (their addresses with them), only those."""
        _total, by_model = self._created().delete()
        return by_model.get(CampaignContact._meta.label, 0)

    def undo_count(self) -> int:
        return self._created().count()


# Where clean_row's tuple holds each address (its type follows it).
_FIRST_ADDRESS = 7
_VALUE_INDEXES = range(_FIRST_ADDRESS, _FIRST_ADDRESS + 2 * ADDRESSES, 2)
_CONTACT_FIELDS = (
    "external_id",
    "priority",
    "top_priority",
    "time_zone",
    "preferred_agent",
    "next_try_at",
    "custom_fields",
)
# The states of a contact's addresses when none is blocked (donotcall.initial_states).
_FREE_STATES = initial_states([str(n) for n in range(ADDRESSES)], set())


def _states(row: tuple, blocked: set[str]) -> str:
    """The states of the row's addresses, comma-separated; "" when none is blocked (they are
    then _FREE_STATES)."""
    values = [row[i] for i in _VALUE_INDEXES if row[i]]
    if blocked.isdisjoint(values):
        return ""
    return ",".join(initial_states(values, blocked))


def _json_object(fields: dict[str, str]) -> str:
    """json.dumps() of a dict of strings, several times faster: no encoder built per call."""
    return "{" + ", ".join(f"{_quoted(k)}: {_quoted(v)}" for k, v in fields.items()) + "}"


@lru_cache(maxsize=4096)
def _next_try(raw: str, zone: str) -> datetime.datetime:
    """A file repeats the same few moments: each is read once."""
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


@dataclass
class Prepared:
    """A batch as prepare_batch leaves it for write_batch."""

    fresh: list[tuple[int, tuple]]  # (line, row): Contact IDs filled in, distinct
    rejected: list[tuple[int, str]]  # (line, reason): a Contact ID seen earlier in the batch
    copy: bytes | None  # on PostgreSQL, `fresh` as the staging table's COPY data, none blocked
    keys: set[str]  # the Contact IDs of `fresh`
    staged: bool = False  # in this connection's staging table (stage_batch)


def _staged_text(rows: list[tuple[int, tuple]], blocked: set[str]) -> bytes:
    """clean_row's tuples as the staging table's COPY data (copy_data), with the addresses'
    states when one is blocked. Blanks stay "" (the text format's NULL would need escaping apart): the
    statement reads a blank agent or next try as NULL."""
    return copy_data(
        [
            (
                line,
                (
                    row[0],
                    str(row[1]),
                    "t" if row[2] else "f",
                    row[3],
                    "" if row[4] is None else str(row[4]),
                    "" if row[5] is None else row[5].isoformat(),
                    *row[6:],
                    _states(row, blocked) if blocked else "",
                ),
            )
            for line, row in rows
        ]
    )


_ADDRESS_FIELDS = [f"v{n}, k{n}" for n in range(1, ADDRESSES + 1)]
_STAGING_TABLE = "campaigns_contact_staging"
# clean_row's tuple (its Contact ID filled in) after the line, then the states of the addresses
# when one is blocked; then the contact's id, drawn from the contacts' sequence as COPY writes
# the row.
_STAGED_COLUMNS = (
    "line integer, external_id text, priority smallint, top_priority boolean, "
    "time_zone text, agent_id text, next_try_at text, custom_fields jsonb, "
    + ", ".join(f"v{n} text, k{n} text" for n in range(1, ADDRESSES + 1))
    + ", states text"
)
_COPY_STAGED = (
    f"COPY {_STAGING_TABLE} ("
    + ", ".join(column.split()[0] for column in _STAGED_COLUMNS.split(", "))
    + ") FROM STDIN"
)


def _staging(sequence: str) -> str:
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING_TABLE} ({_STAGED_COLUMNS}, "
        f"id bigint NOT NULL DEFAULT nextval('{sequence}')) ON COMMIT DELETE ROWS"
    )


_CONTACTS = CampaignContact._meta.db_table
_ADDRESSES = ContactAddress._meta.db_table
# One statement a batch (PostgreSQL); the staged rows have distinct Contact IDs (prepare_batch)
# and their ids (stage_batch). `inserted`: those the unique constraint let in; `addresses`: theirs, one row per
# address (positions from 0, states from the staged column or _FREE_STATES). Then the count, and
# the refused rows with whether the Contact ID was taken by a row an earlier batch of this job
# created (earlier in the file). The sub-statements share one snapshot, so the holders looked up
# are the rows that existed before this statement.
_WRITE_STAGED = f"""
WITH inserted AS (
    INSERT INTO {_CONTACTS} (id, tenant_id, campaign_id, contact_list_id, import_job_id,
        in_processing, state, schedule_note, manual_reschedules, created_at, updated_at,
        external_id, priority, top_priority, time_zone, preferred_agent_id, next_try_at,
        custom_fields)
    SELECT id, %(tenant)s, %(campaign)s, %(list)s, %(job)s, %(launch)s, 'waiting', '', 0, %(now)s,
        %(now)s, external_id, priority, top_priority, time_zone, nullif(agent_id, '')::bigint,
        nullif(next_try_at, '')::timestamptz, custom_fields
    FROM {_STAGING_TABLE} ORDER BY line
    ON CONFLICT DO NOTHING
    RETURNING id
), addresses AS (
    INSERT INTO {_ADDRESSES} (tenant_id, attempts, contact_id, position, value, kind, state)
    SELECT %(tenant)s, 0, i.id, a.position, a.value, a.kind, CASE WHEN s.states = ''
        THEN (%(free)s::text[])[a.position + 1] ELSE split_part(s.states, ',', a.position + 1) END
    FROM inserted i JOIN {_STAGING_TABLE} s ON s.id = i.id
    CROSS JOIN LATERAL (VALUES {
    ", ".join(f"({n - 1}, s.v{n}, s.k{n})" for n in range(1, ADDRESSES + 1))
}) a (position, value, kind)
    WHERE a.value <> ''
)
SELECT 0, '', false, (SELECT count(*) FROM inserted)
UNION ALL
SELECT s.line, s.external_id, coalesce((
    SELECT h.import_job_id = %(job)s FROM {_CONTACTS} h
    WHERE h.campaign_id = %(campaign)s AND h.external_id = s.external_id
), false), 0 FROM {_STAGING_TABLE} s
WHERE NOT EXISTS (SELECT FROM inserted i WHERE i.id = s.id)
"""  # noqa: S608
# The same without ON CONFLICT, for a batch none of whose Contact IDs is taken.
_INSERT_STAGED = _WRITE_STAGED.replace("\n    ON CONFLICT DO NOTHING\n", "\n")


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

    def __init__(self, *args, tenant, user=None, **kwargs):
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
    table: str, columns: tuple[str, ...], rows: list[tuple], *, returning: tuple[str, ...] = ()
) -> list[tuple]:
    """Insert `rows`, leaving out those a unique constraint refuses; `returning` of the others."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _insert_by_copy(table, columns, rows, returning)
    return _insert_by_values(table, columns, rows, returning)


def _insert_by_copy(table, columns, rows, returning) -> list[tuple]:
    names = ", ".join(columns)
    staging = f"{table}_staging"
    with connection.cursor() as cursor:
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
