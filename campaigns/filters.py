"""The contacts page's filters; exports and bulk actions replay them from the same parameters.

Besides the column filters, two parameters shape every selection: `mode` (list management,
the default, or contact management) and `expr`, the advanced filter expression.
"""

from __future__ import annotations

import functools

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise, cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from campaigns import query
from campaigns.models import Campaign, CampaignContact, ContactAddress, ContactList
from contactcenter.phones import InvalidPhone, to_e164
from contactcenter.templatetags.ui import bootstrap

LIST_MANAGEMENT = "list"
CONTACT_MANAGEMENT = "contact"
MODES = ((LIST_MANAGEMENT, _("List management")), (CONTACT_MANAGEMENT, _("Contact management")))


_WIDGETS = "django/forms/widgets/"
# Widget templates that are only an include of input.html.
_INPUTS = {f"{_WIDGETS}{name}.html" for name in ("input", "text", "search", "date", "number")}
# A checkbox or radio of a list: input.html too when its label is not wrapped around it.
_OPTIONS = {
    f"{_WIDGETS}{name}.html" for name in ("input_option", "checkbox_option", "radio_option")
}


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class WidgetRenderer(DjangoTemplates):
    """Django's templates for inputs and flat selects, written out in Python (the same HTML).

    The contacts page shows some twenty filter widgets: through the templates, a widget
    and each of its options was a template render, a sixth of the page's time. Any other
    widget, or a select with option groups, goes to the templates as before.
    """

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if template_name in _INPUTS or (template_name in _OPTIONS and not widget.get("wrap_label")):
            return mark_safe(_input(widget))  # noqa: S308 - escaped in _input
        if template_name == f"{_WIDGETS}select.html" and _flat(widget):
            options = "".join(
                f"\n  {_option(option)}\n"
                for _, group, _ in widget["optgroups"]
                for option in group
            )
            html = f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>{options}\n</select>'
            return mark_safe(html)  # noqa: S308 - every value is escaped
        return super().render(template_name, context, request)


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>"
    )


def _flat(widget: dict) -> bool:
    """No option groups, and only text labels (a number or a date would be localised)."""
    return all(
        not name
        and all(
            option["template_name"] == f"{_WIDGETS}select_option.html"
            and isinstance(option["label"], str | Promise)
            for option in group
        )
        for name, group, _ in widget["optgroups"]
    )


def _option(option: dict) -> str:
    # select_option.html, with the line end its include leaves.
    return (
        f'<option value="{conditional_escape(option["value"])}"{_attrs(option["attrs"])}>'
        f"{conditional_escape(option['label'])}</option>"
    )


# One renderer for every form: each has its template engine, which caches the templates.
WIDGET_RENDERER = WidgetRenderer()


# Filters always in sight on the contacts page; the others fold under "More filters".
BASIC_FILTERS = ("q", "contact_list", "state")


class FilterForm(forms.Form):
    default_renderer = WIDGET_RENDERER

    @property
    def more_filters_html(self) -> str:
        """The "More filters" row of the contacts page: each filter but the basic ones with its
        label, widget and errors. The same HTML as the template loop over the fields wrote,
        in about half its time."""
        cells = []
        for field in self:
            if field.name in BASIC_FILTERS:
                continue
            errors = "".join(
                f'<div class="invalid-feedback d-block">{conditional_escape(error)}</div>'
                for error in field.errors
            )
            label = (
                f'<label class="form-label small" for="{conditional_escape(field.id_for_label)}">'
            )
            cells.append(
                f'\n      <div class="col-sm-6 col-md-3">{label}{conditional_escape(field.label)}'
                f"</label>{bootstrap(field)}{errors}</div>\n      "
            )
        return mark_safe("".join(cells))  # noqa: S308 - every value is escaped


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CampaignContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="keyword",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Contact ID, number or email…")}
        ),
    )
    contact_list = django_filters.ModelChoiceFilter(
        label=_("List"), queryset=None, empty_label=_("All lists")
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=CampaignContact.State.choices, empty_label=_("All states")
    )
    next_try_from = django_filters.DateFilter(
        label=_("Next try from"),
        field_name="next_try_at",
        lookup_expr="date__gte",
        widget=_date_input(),
    )
    next_try_to = django_filters.DateFilter(
        label=_("Next try until"),
        field_name="next_try_at",
        lookup_expr="date__lte",
        widget=_date_input(),
    )
    no_next_try = django_filters.BooleanFilter(
        label=_("Without next try"), field_name="next_try_at", lookup_expr="isnull"
    )
    priority_min = django_filters.NumberFilter(
        label=_("Priority at least"), field_name="priority", lookup_expr="gte"
    )
    priority_max = django_filters.NumberFilter(
        label=_("Priority at most"), field_name="priority", lookup_expr="lte"
    )
    top_priority = django_filters.BooleanFilter(label=_("Top priority"))
    preferred_agent = django_filters.ModelChoiceFilter(
        label=_("Agent"), queryset=None, empty_label=_("Any agent")
    )
    time_zone = django_filters.CharFilter(label=_("Time zone"), lookup_expr="icontains")
    manual_reschedules_min = django_filters.NumberFilter(
        label=_("Manual reschedules at least"), field_name="manual_reschedules", lookup_expr="gte"
    )
    qualification = django_filters.ModelChoiceFilter(
        label=_("Qualification"), queryset=None, empty_label=_("Any qualification")
    )
    updated_from = django_filters.DateFilter(
        label=_("Updated from"),
        field_name="updated_at",
        lookup_expr="date__gte",
        widget=_date_input(),
    )
    updated_to = django_filters.DateFilter(
        label=_("Updated until"),
        field_name="updated_at",
        lookup_expr="date__lte",
        widget=_date_input(),
    )
    address = django_filters.CharFilter(label=_("Address"), method="by_address")
    address_type = django_filters.ChoiceFilter(
        label=_("Address type"),
        choices=ContactAddress.Kind.choices,
        method="by_address_type",
        empty_label=_("Any"),
    )
    address_state = django_filters.ChoiceFilter(
        label=_("Address state"),
        choices=ContactAddress.State.choices,
        method="by_address_state",
        empty_label=_("Any"),
    )

    class Meta:
        model = CampaignContact
        fields = []
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, campaign: Campaign, **kwargs):
        # Always bound: the mode applies even to the bare page, which has no parameters.
        super().__init__(data if data is not None else {}, queryset, **kwargs)
        self.campaign = campaign
        self.region = campaign.tenant.default_phone_region
        self._verdict: query.QueryError | bool | None = False  # False: not read yet
        self.filters["contact_list"].queryset = campaign.lists.all()
        self.filters["qualification"].queryset = campaign.qualifications.order_by("code")
        self.filters["preferred_agent"].queryset = campaign.tenant.users.filter(
            is_active=True
        ).order_by("username")
        for name in ("top_priority", "no_next_try"):
            self.filters[name].field.widget = forms.Select(
                choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]
            )

    @property
    def form(self) -> forms.Form:
        """The filters' form, whose selects of lists, codes and agents read plain lists.

        Django's ModelChoiceIterator reads its queryset with .iterator(): on PostgreSQL a
        server-side cursor (DECLARE … WITH HOLD, FETCH, CLOSE), three round trips for a few
        rows. The selects read their choices when they render, once, as the same options.
        """
        if not hasattr(self, "_form"):
            form = super().form
            for name in ("contact_list", "qualification", "preferred_agent"):
                field = form.fields[name]
                field.widget.choices = functools.partial(self._model_choices, name, field)
        return self._form

    def _model_choices(self, name: str, field: forms.ModelChoiceField) -> list[tuple]:
        rows = self.lists if name == "contact_list" else list(field.queryset)
        return [
            ("", field.empty_label),
            *((row.pk, field.label_from_instance(row)) for row in rows),
        ]

    @cached_property
    def lists(self) -> list[ContactList]:
        """The campaign's lists, by name, read once: the list filter's choices, and the page
        needs them besides."""
        return list(self.filters["contact_list"].queryset)

    @property
    def matches(self) -> QuerySet:
        """What the page shows: nothing for filters it cannot read (never everything)."""
        return self.qs if self.is_valid() else self.queryset.none()

    @property
    def mode(self) -> str:
        mode = (self.data or {}).get("mode")
        return CONTACT_MANAGEMENT if mode == CONTACT_MANAGEMENT else LIST_MANAGEMENT

    @property
    def expression(self) -> str:
        return ((self.data or {}).get("expr") or "").strip()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = queryset.filter(in_processing=self.mode == CONTACT_MANAGEMENT)
        queryset = super().filter_queryset(queryset)
        if self.expression:
            queryset = self._advanced(queryset)
        return queryset

    @property
    def expression_error(self) -> query.QueryError | None:
        """Why `expr` cannot be read (None when it reads well), parsed once a request: the
        advanced filter panel shows this verdict, with positions into `expr` as written."""
        if self._verdict is False:
            try:
                self._condition = query.condition((self.data or {}).get("expr") or "")
                self._verdict = None
            except query.QueryError as exc:
                self._verdict = exc
        return self._verdict

    def _advanced(self, queryset: QuerySet) -> QuerySet:
        """The advanced filter; one that cannot be read matches nothing (never everything)."""
        if self.expression_error is not None:
            return queryset.none()
        return queryset if self._condition is None else queryset.filter(self._condition)

    def keyword(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(external_id__icontains=value) | self._address_matches(value))

    def by_address(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        return queryset.filter(self._address_matches(value.strip()))

    def by_address_type(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(self._addresses().filter(kind=value)))

    def by_address_state(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(self._addresses().filter(state=value)))

    def _addresses(self) -> QuerySet:
        return ContactAddress.objects.filter(contact=OuterRef("pk"))

    def _address_matches(self, value: str) -> Exists:
        """An address equal to the number however it is written, or containing the text."""
        try:
            return Exists(self._addresses().filter(value=to_e164(value, self.region)))
        except InvalidPhone:
            return Exists(self._addresses().filter(value__icontains=value))
