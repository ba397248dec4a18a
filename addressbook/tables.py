import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from addressbook.models import AddressBook, ExternalContact
from contactcenter import registry


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
    # A link to the edit form only for those who may edit: others would land on a 403.
    name = tables.TemplateColumn(
        "{% if perms.addressbook.change_externalcontact %}"
        '<a href="{{ record.get_absolute_url }}">{{ value }}</a>{% else %}{{ value }}{% endif %}',
        verbose_name=_("Name"),
        attrs={"td": {"id": lambda record: f"contact-{record.pk}-name"}},
    )
    phone = tables.Column(verbose_name=_("Phone"))
    mobile = tables.Column(verbose_name=_("Mobile"))
    address = tables.Column(verbose_name=_("Address"))
    email = tables.EmailColumn(verbose_name=_("Email"))
    other = tables.TemplateColumn(
        '{{ value|default:"—"|truncatechars:60 }}', verbose_name=_("Other")
    )
    actions = tables.TemplateColumn(
        template_name="addressbook/_contact_actions.html", verbose_name="", orderable=False
    )

    class Meta:
        model = ExternalContact
        fields = ("selection", "name", "phone", "mobile", "address", "email", "other", "actions")
        # Its sort links drop the page cursor, which belongs to the previous sort order.
        template_name = "addressbook/_contact_table.html"
        attrs = {"class": "table table-sm table-hover align-middle", "id": "contacts-table"}
        empty_text = _("No contact matches.")
        row_attrs = {"data-contact": lambda record: record.pk}


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
