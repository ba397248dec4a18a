from html import escape

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from addressbook.models import AddressBook, ExternalContact
from contactcenter import registry

# An id no contact has, reversed once and replaced by each row's id (see _url).
_PK_MARK = 987654321987


_NAME_MARK = "\x00name\x00"


def _cell(value: str) -> str:
    return f"<td>{escape(value)}</td>" if value else "<td>—</td>"


class ExternalContactTable(tables.Table):
    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {
                "id": "select-page",
                "class": "form-check-input",
                "aria-label": _("Select the page"),
            },
            # Named by the row's name cell, so that a screen reader says whom a box selects.
            "td__input": {
                "form": "bulk-form",
                "class": "form-check-input row-check",
                "aria-labelledby": lambda record: f"contact-{record.pk}-name",
            },
        },
    )
    # Cells are rendered in Python (render_* below), not with templates: a template per cell
    # costs a template render and every context processor, 25 rows × 3 columns a page.
    name = tables.Column(
        verbose_name=_("Name"),
        attrs={"td": {"id": lambda record: f"contact-{record.pk}-name"}},
        # The list's queryset annotates it: the order the pages come in (see ContactListView).
        order_by=("name_key",),
    )
    phone = tables.Column(verbose_name=_("Phone"))
    mobile = tables.Column(verbose_name=_("Mobile"))
    address = tables.Column(verbose_name=_("Address"))
    email = tables.EmailColumn(verbose_name=_("Email"))
    other = tables.Column(verbose_name=_("Other"))
    actions = tables.Column(verbose_name="", orderable=False, empty_values=())

    class Meta:
        model = ExternalContact
        fields = ("selection", "name", "phone", "mobile", "address", "email", "other", "actions")
        # Its sort links drop the page cursor, which belongs to the previous sort order.
        template_name = "addressbook/_contact_table.html"
        attrs = {"class": "table table-sm table-hover align-middle", "id": "contacts-table"}
        empty_text = _("No contact matches.")
        row_attrs = {"data-contact": lambda record: record.pk}

    def __init__(self, *args, user=None, csrf_token: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        perms = user.get_all_permissions() if user else set()
        self.can_edit = "addressbook.change_externalcontact" in perms
        self.can_export = "addressbook.export_externalcontact" in perms
        self.can_delete = "addressbook.delete_externalcontact" in perms
        self.csrf_token = csrf_token
        self._urls: dict[tuple[str, bool], str] = {}

    def body_html(self) -> str:
        """Every row of the page, built here in one pass (see _contact_table.html).

        django-tables2 renders a cell through a bound row, a bound column, a signature
        inspection and a template node: for 25 rows × 8 columns that was most of the page's
        time. The cells and their attributes are the same as the columns above declare;
        values are escaped here (html.escape, as Django's escape does).
        """
        mark = str(_PK_MARK)
        edit = self._url("contact_edit", _PK_MARK) if self.can_edit else ""
        # The row menu is the same for every row but for the id and the name: built once.
        menu = self.render_actions(ExternalContact(pk=_PK_MARK, name=str(_NAME_MARK)))
        menu = str(menu).replace(escape(_NAME_MARK), "{name}") if menu else ""

        def name(r: ExternalContact) -> str:
            shown = escape(r.name)
            if edit:
                shown = f'<a href="{edit.replace(mark, str(r.pk))}">{shown}</a>'
            return f'<td id="contact-{r.pk}-name">{shown}</td>'

        cells = {
            "selection": lambda r: (
                f'<td><input type="checkbox" name="selection" value="{r.pk}" form="bulk-form" '
                f'class="form-check-input row-check" aria-labelledby="contact-{r.pk}-name"></td>'
            ),
            "name": name,
            "phone": lambda r: _cell(r.phone),
            "mobile": lambda r: _cell(r.mobile),
            "address": lambda r: _cell(r.address),
            "email": lambda r: (
                f'<td><a href="mailto:{escape(r.email)}">{escape(r.email)}</a></td>'
                if r.email
                else _cell("")
            ),
            "other": lambda r: _cell(self.render_other(r.other) if r.other else ""),
            "actions": lambda r: (
                "<td>" + menu.replace(mark, str(r.pk)).replace("{name}", escape(r.name)) + "</td>"
            ),
        }
        shown = [cells[column.name] for column in self.columns]
        rows = [
            f'<tr data-contact="{record.pk}" class="{"odd" if i % 2 else "even"}">'
            + "".join(cell(record) for cell in shown)
            + "</tr>"
            for i, record in enumerate(self.data)
        ]
        return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped

    def _url(self, name: str, pk: int | None = None) -> str:
        """reverse("addressbook:<name>", args=[pk]), resolved once a page instead of once a row."""
        key = (name, pk is None)
        if key not in self._urls:
            args = [] if pk is None else [_PK_MARK]
            self._urls[key] = reverse(f"addressbook:{name}", args=args)
        url = self._urls[key]
        return url if pk is None else url.replace(str(_PK_MARK), str(pk))

    def render_name(self, record: ExternalContact, value: str) -> str:
        # A link to the edit form only for those who may edit: others would land on a 403.
        return (
            format_html('<a href="{}">{}</a>', self._url("contact_edit", record.pk), value)
            if self.can_edit
            else value
        )

    def render_other(self, value: str) -> str:
        return Truncator(value).chars(60)

    def render_actions(self, record: ExternalContact) -> str:
        items = []
        if self.can_edit:
            items.append(
                format_html(
                    '<li><a class="dropdown-item" href="{}">{}</a></li>',
                    self._url("contact_edit", record.pk),
                    _("Edit"),
                )
            )
        if self.can_export:
            items.append(
                format_html(
                    '<li><form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                    '<input type="hidden" name="selection" value="{}"><input type="hidden" name="action" value="export">'
                    '<button class="dropdown-item" type="submit">{}</button></form></li>',
                    self._url("contact_bulk"),
                    self.csrf_token,
                    record.pk,
                    _("Export (CSV)"),
                )
            )
        if self.can_delete:
            url = self._url("contact_delete", record.pk)
            items.append(
                format_html(
                    '<li><a class="dropdown-item text-danger" href="{}">{}</a></li>',
                    url,
                    _("Delete"),
                )
            )
        if not items:
            return ""
        label = _("Actions for %(name)s") % {"name": record.name}
        return format_html(
            '<div class="dropdown"><button class="btn btn-sm btn-outline-secondary dropdown-toggle" type="button" '
            'data-bs-toggle="dropdown" aria-expanded="false" aria-label="{}">⋯</button>'
            '<ul class="dropdown-menu dropdown-menu-end">{}</ul></div>',
            label,
            mark_safe("".join(items)),  # noqa: S308 - each item was built by format_html
        )


class AddressBookTable(tables.Table):
    name = tables.Column(verbose_name=_("Name"), linkify=True)
    sources = tables.Column(verbose_name=_("Sources"), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("Created on"), format="SHORT_DATE_FORMAT")

    class Meta:
        model = AddressBook
        fields = ("name", "sources", "created_at")
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No address book yet.")

    def render_sources(self, value: list[str]) -> str:
        sources = registry.directory_sources
        return ", ".join(str(sources[key].label) for key in value if key in sources)
