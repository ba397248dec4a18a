from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import django_tables2 as tables
from django.template import Context
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_tables2.data import TableListData

from campaigns.models import MOVES, Campaign, CampaignContact, ContactAddress, ContactList

# Columns a user may show or hide on the contacts page (Contact ID always shows: it names the row).
CHOOSABLE_COLUMNS = (
    "contact_list",
    "state",
    "next_try_at",
    "priority",
    "top_priority",
    "preferred_agent",
    "time_zone",
    "manual_reschedules",
    "qualification",
    "updated_at",
    "addresses",
    "created_at",
    "custom_fields",
)
DEFAULT_COLUMNS = CHOOSABLE_COLUMNS[:-2]
# Sorted by keyset in the database; next_try_at may be blank (see campaigns.paging).
SORTABLE_COLUMNS = (
    "external_id",
    "state",
    "next_try_at",
    "priority",
    "time_zone",
    "manual_reschedules",
    "updated_at",
    "created_at",
)


class CellTemplateColumn(tables.Column):
    """A column whose cells are a template rendered in the table's own context.

    Not django-tables2's TemplateColumn: given a template name, it renders every cell with a
    fresh RequestContext, which runs every context processor again (a query per cell).
    """

    def __init__(self, template_name: str, **kwargs):
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        super().__init__(**kwargs)
        self.template_name = template_name

    def render(self, record, table, value) -> str:
        context = getattr(table, "context", None) or Context()
        with context.update({"record": record, "value": value}):
            return get_template(self.template_name).template.render(context)


def _badge(label: str, css: str) -> str:
    return format_html('<span class="badge {}">{}</span>', css, label)


class KeysetRows(TableListData):
    """A keyset page's rows, already in the page's order (see campaigns.paging): the table
    shows which column sorts them but does not sort them again."""

    def order_by(self, aliases) -> None:
        pass


class CampaignTable(tables.Table):
    name = tables.Column(verbose_name=_("Name"), linkify=True)
    state = CellTemplateColumn("campaigns/_campaign_state.html", verbose_name=_("State"))
    max_attempts = tables.Column(verbose_name=_("Max attempts per address"))
    calling_rules = tables.Column(verbose_name=_("Calling rules"), default="—")
    default_time_zone = tables.Column(verbose_name=_("Default time zone"))
    created_at = tables.DateTimeColumn(verbose_name=_("Created on"), format="SHORT_DATE_FORMAT")

    class Meta:
        model = Campaign
        fields = (
            "name",
            "state",
            "max_attempts",
            "calling_rules",
            "default_time_zone",
            "created_at",
        )
        attrs = {"class": "table table-sm table-hover align-middle", "id": "campaigns-table"}
        empty_text = _("No campaign yet.")


class ContactListTable(tables.Table):
    name = tables.Column(verbose_name=_("Name"))
    state = CellTemplateColumn("campaigns/_list_state.html", verbose_name=_("State"))
    contact_count = tables.Column(verbose_name=_("Contacts"), orderable=False)
    actions = CellTemplateColumn("campaigns/_list_actions.html", verbose_name="")

    class Meta:
        model = ContactList
        fields = ("name", "state", "contact_count", "actions")
        attrs = {"class": "table table-sm table-hover align-middle", "id": "lists-table"}
        empty_text = _("No contact list yet: create one to add or import contacts.")
        row_attrs = {"data-list": lambda record: record.pk}


# An id no contact has, reversed once and replaced by each row's id (see body_html).
_PK_MARK = 987654321987
_ID_MARK = "\x00id\x00"


def _text(value) -> str:
    """A cell's text as django-tables2 shows it: escaped, a dash when blank."""
    return "—" if value is None or value == "" else escape(str(value))


def _moment(value, zone: str | None = None) -> str:
    """`value` as a short date and time, in the user's time zone or in the IANA `zone`."""
    local = timezone.localtime(value, None if zone is None else zone_info(zone))
    return date_format(local, "SHORT_DATETIME_FORMAT")


def _next_try(record: CampaignContact, moment=_moment) -> str:
    """When, in the user's time zone (the contact's own in the tooltip), and why there."""
    value = record.next_try_at
    if value is None:
        # Not inside the f-string: xgettext does not read calls there.
        by_priority = _("By priority")
        when = f'<span class="text-body-secondary">{escape(str(by_priority))}</span>'
    else:
        title = _("%(when)s for the contact (%(zone)s)") % {
            "when": moment(value, record.time_zone),
            "zone": record.time_zone,
        }
        when = f'<span class="text-nowrap" title="{escape(title)}">{escape(moment(value))}</span>'
    if not record.schedule_note:
        return when
    note = escape(record.schedule_note)
    return (
        f'{when}<div class="small text-body-secondary text-truncate schedule-note" '
        f'style="max-width: 14rem" title="{note}">{note}</div>'
    )


# Bootstrap badge of each state; the others (paused, held by their list) are warnings.
STATE_BADGES = {
    "waiting": "text-bg-primary",
    "running": "text-bg-info",
    "done": "text-bg-success",
    "failed": "text-bg-danger",
    "deleted": "text-bg-dark",
    "shelved": "text-bg-light border",
}
ADDRESS_BADGES = {
    "blocked": "text-bg-dark",
    "failed": "text-bg-danger",
    "waiting": "text-bg-light border",
}


@dataclass(frozen=True)
class RowMenu:
    """What each row's menu offers the user, and what its forms post; made once a page."""

    bulk_url: str = ""
    csrf_input: str = ""
    # The page's filters, for the action to come back to the same page.
    query: str = ""
    # (action, label) of the bulk actions the user may run on one row.
    actions: tuple[tuple[str, str], ...] = ()
    can_edit: bool = False
    can_delete: bool = False


class CampaignContactTable(tables.Table):
    """A page of contacts. Cells are formatted here rather than in cell templates: at 25 rows
    by a dozen columns, a template a cell would cost more than the page's queries."""

    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {
                "id": "select-page",
                "class": "form-check-input",
                "aria-label": _("Select the page"),
            },
            # Named by the row's Contact ID cell, so that a screen reader says whom a box selects.
            "td__input": {
                "form": "bulk-form",
                "class": "form-check-input row-check",
                "aria-labelledby": lambda record: f"contact-{record.pk}-id",
            },
        },
    )
    external_id = tables.Column(
        verbose_name=_("Contact ID"),
        attrs={"td": {"id": lambda record: f"contact-{record.pk}-id"}},
    )
    contact_list = tables.Column(verbose_name=_("List"), orderable=False)
    state = tables.Column(verbose_name=_("State"))
    next_try_at = tables.Column(verbose_name=_("Next try"), empty_values=())
    priority = tables.Column(verbose_name=_("Priority"))
    top_priority = tables.BooleanColumn(
        verbose_name=_("Top priority"), orderable=False, yesno=("★", "")
    )
    preferred_agent = tables.Column(
        verbose_name=_("Agent"), accessor="preferred_agent__username", orderable=False
    )
    time_zone = tables.Column(verbose_name=_("Time zone"))
    manual_reschedules = tables.Column(verbose_name=_("Manual reschedules"))
    qualification = tables.Column(
        verbose_name=_("Qualification"), accessor="qualification__code", orderable=False
    )
    updated_at = tables.Column(verbose_name=_("Last update"))
    addresses = tables.Column(verbose_name=_("Addresses"), orderable=False, empty_values=())
    created_at = tables.Column(verbose_name=_("Created on"))
    custom_fields = tables.Column(verbose_name=_("Custom fields"), orderable=False)
    actions = tables.Column(verbose_name="", orderable=False, empty_values=())

    class Meta:
        model = CampaignContact
        fields = ("selection", "external_id", *CHOOSABLE_COLUMNS, "actions")
        # Its sort links drop the page cursor, which belongs to the previous sort order.
        template_name = "campaigns/_contact_table.html"
        attrs = {"class": "table table-sm table-hover align-middle small", "id": "contacts-table"}
        empty_text = _("No contact matches.")
        row_attrs = {"data-contact": lambda record: record.pk}

    def __init__(self, *args, menu: RowMenu | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.menu = menu or RowMenu()

    def body_html(self) -> str:
        """Every row of the page, built here in one pass (see _contact_table.html).

        django-tables2 renders a cell through a bound row, a bound column, a signature
        inspection and a template node: for 25 rows × 16 columns that was most of the page's
        time. The cells and their attributes are the same as the columns above and their
        render_* methods make; values are escaped here (html.escape, as Django's escape does).
        """
        mark = str(_PK_MARK)
        edit = escape(self._url("contact_edit", CampaignContact(pk=_PK_MARK)))
        # The row menu is the same for every row but for the id, the Contact ID and whether
        # "launch" or "load" applies (the contact's view): built once for each of the two.
        menus = {
            processing: str(
                self.render_actions(
                    CampaignContact(pk=_PK_MARK, external_id=_ID_MARK, in_processing=processing)
                )
            )
            for processing in (False, True)
        }

        # The badges and labels of render_state and render_addresses, made once a page.
        states = {
            state: _badge(label, STATE_BADGES.get(state, "text-bg-warning"))
            for state, label in CampaignContact.State.choices
        }
        kinds = {kind: escape(str(label)) for kind, label in ContactAddress.Kind.choices}
        address_states = {
            state: _badge(label, ADDRESS_BADGES.get(state, "text-bg-primary"))
            for state, label in ContactAddress.State.choices
        }
        attempts = escape(str(_("Attempts")))
        # Rows often share a moment (a batch imported at once): each is formatted once.
        moment = functools.cache(_moment)

        def when(value) -> str:
            return escape(moment(value)) if value else "—"

        def address(a: ContactAddress) -> str:
            kind = kinds.get(a.kind) or escape(str(a.get_kind_display()))
            badge = address_states.get(a.state) or _badge(
                a.get_state_display(), ADDRESS_BADGES.get(a.state, "text-bg-primary")
            )
            tried = (
                f' <span class="text-body-secondary" title="{attempts}">×{a.attempts}</span>'
                if a.attempts
                else ""
            )
            return (
                f'<div class="text-nowrap">{escape(str(a.value))} '
                f'<span class="text-body-secondary">· {kind}</span> {badge}{tried}</div>'
            )

        def addresses(r: CampaignContact):
            # The page prefetches them as a list (see ContactsView.get_table_data).
            found = getattr(r, "address_list", None)
            return r.addresses.all() if found is None else found

        def external_id(r: CampaignContact) -> str:
            shown = _text(r.external_id)
            if self.menu.can_edit and r.external_id:
                shown = f'<a href="{edit.replace(mark, str(r.pk))}">{shown}</a>'
            return f'<td id="contact-{r.pk}-id">{shown}</td>'

        def actions(r: CampaignContact) -> str:
            menu = menus[bool(r.in_processing)].replace(mark, str(r.pk))
            return f"<td>{menu.replace(_ID_MARK, escape(r.external_id))}</td>"

        def top(r: CampaignContact) -> str:
            on = bool(r.top_priority)
            return f'<td><span class="{str(on).lower()}">{"★" if on else ""}</span></td>'

        cells = {
            "selection": lambda r: (
                f'<td><input type="checkbox" name="selection" value="{r.pk}" form="bulk-form" '
                f'class="form-check-input row-check" aria-labelledby="contact-{r.pk}-id" /></td>'
            ),
            "external_id": external_id,
            "contact_list": lambda r: f"<td>{_text(r.contact_list)}</td>",
            "state": lambda r: (
                f"<td>{(states.get(r.state) or self.render_state(r)) if r.state else '—'}</td>"
            ),
            "next_try_at": lambda r: f"<td>{_next_try(r, moment)}</td>",
            "priority": lambda r: f"<td>{_text(r.priority)}</td>",
            "top_priority": top,
            "preferred_agent": lambda r: (
                f"<td>{_text(r.preferred_agent.username if r.preferred_agent else None)}</td>"
            ),
            "time_zone": lambda r: f"<td>{_text(r.time_zone)}</td>",
            "manual_reschedules": lambda r: f"<td>{_text(r.manual_reschedules)}</td>",
            "qualification": lambda r: (
                f"<td>{_text(r.qualification.code if r.qualification else None)}</td>"
            ),
            "updated_at": lambda r: f"<td>{when(r.updated_at)}</td>",
            "addresses": lambda r: f"<td>{''.join(map(address, addresses(r))) or '—'}</td>",
            "created_at": lambda r: f"<td>{when(r.created_at)}</td>",
            "custom_fields": lambda r: (
                f"<td>{'—' if r.custom_fields in (None, '') else self.render_custom_fields(r.custom_fields)}</td>"
            ),
            "actions": actions,
        }
        shown = [cells[column.name] for column in self.columns]
        rows = [
            f'<tr data-contact="{record.pk}" class="{"odd" if i % 2 else "even"}">'
            + "".join(cell(record) for cell in shown)
            + "</tr>"
            for i, record in enumerate(self.data)
        ]
        return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped

    def head_html(self) -> str:
        """The header cells, built here in one pass (see _contact_table.html): a sort link for
        each orderable column, with the page's parameters but the cursor (it belongs to the
        old order), and an arrow on the sorted column. The same HTML as django-tables2's
        querystring_replace in the template loop, which was a twentieth of the page's time."""
        params = {
            key: values
            for key, values in self.request.GET.lists()
            if key not in ("after", "before")
        }
        cells = []
        for column in self.columns:
            inner = conditional_escape(column.header)
            if column.orderable:
                alias = column.order_by_alias
                params[self.prefixed_order_by_field] = alias.next
                href = escape("?" + urlencode(params, doseq=True))
                if column.is_ordered:
                    arrow = "▾" if alias.is_descending else "▴"
                    inner += f' <span aria-hidden="true">{arrow}</span>'
                inner = f'<a class="text-nowrap" href="{href}">{inner}</a>'
            cells.append(f'\n  <th {column.attrs["th"].as_html()} scope="col">{inner}</th>\n')
        return mark_safe("".join(cells))  # noqa: S308 - every value above is escaped

    def render_external_id(self, record: CampaignContact, value: str) -> str:
        # A link to the edit form only for those who may edit: others would land on a 403.
        if not self.menu.can_edit:
            return value
        return format_html('<a href="{}">{}</a>', self._url("contact_edit", record), value)

    def _url(self, name: str, record: CampaignContact) -> str:
        """A page of this contact that goes back to this page's view and filters once done."""
        url = reverse(f"campaigns:{name}", args=[record.pk])
        return f"{url}?{self.menu.query}" if self.menu.query else url

    def render_state(self, record: CampaignContact) -> str:
        return _badge(record.get_state_display(), STATE_BADGES.get(record.state, "text-bg-warning"))

    def render_next_try_at(self, record: CampaignContact) -> str:
        return mark_safe(_next_try(record))  # noqa: S308 - escaped in _next_try

    def render_addresses(self, record: CampaignContact) -> str:
        lines = [
            format_html(
                '<div class="text-nowrap">{} <span class="text-body-secondary">· {}</span> {}{}</div>',
                address.value,
                address.get_kind_display(),
                _badge(
                    address.get_state_display(),
                    ADDRESS_BADGES.get(address.state, "text-bg-primary"),
                ),
                format_html(
                    ' <span class="text-body-secondary" title="{}">×{}</span>',
                    _("Attempts"),
                    address.attempts,
                )
                if address.attempts
                else "",
            )
            for address in record.addresses.all()
        ]
        return format_html_join("", "{}", ((line,) for line in lines)) if lines else "—"

    def render_actions(self, record: CampaignContact) -> str:
        """The row's menu: edit, the bulk actions on this row alone, delete (with confirmation)."""
        menu, items = self.menu, []
        if menu.can_edit:
            url = self._url("contact_edit", record)
            items.append(format_html('<a class="dropdown-item" href="{}">{}</a>', url, _("Edit")))
        for action, label in menu.actions:
            # A move (launch, load) applies to contacts of the other view only.
            if MOVES.get(action) != record.in_processing:
                items.append(
                    format_html(
                        '<form method="post" action="{}">{}<input type="hidden" name="selection" '
                        'value="{}"><input type="hidden" name="filter" value="{}"><button '
                        'class="dropdown-item" type="submit" name="action" value="{}">{}</button>'
                        "</form>",
                        menu.bulk_url,
                        menu.csrf_input,
                        record.pk,
                        menu.query,
                        action,
                        label,
                    )
                )
        if menu.can_delete:
            url = self._url("contact_delete", record)
            items.append(
                format_html(
                    '<a class="dropdown-item text-danger" href="{}">{}</a>', url, _("Delete")
                )
            )
        return format_html(
            '<div class="dropdown"><button class="btn btn-sm btn-outline-secondary dropdown-toggle" '
            'type="button" data-bs-toggle="dropdown" aria-expanded="false" aria-label="{}">⋯</button>'
            '<ul class="dropdown-menu dropdown-menu-end">{}</ul></div>',
            _("Actions for %(id)s") % {"id": record.external_id},
            format_html_join("", "<li>{}</li>", ((item,) for item in items)),
        )

    def render_updated_at(self, value) -> str:
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")

    def render_created_at(self, value) -> str:
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")

    def render_custom_fields(self, value: dict) -> str:
        return format_html_join(
            format_html("<br>"), '<span class="text-nowrap">{}: {}</span>', value.items()
        )


def zone_info(name: str) -> ZoneInfo:
    """The time zone of this IANA name; UTC for a name this system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
