"""The contacts page's filters; exports and bulk actions replay them from the same parameters.

Besides the column filters, two parameters shape every selection: `mode` (list management,
the default, or contact management) and `expr`, the advanced filter expression.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campaigns import query
from campaigns.models import Campaign, CampaignContact, ContactAddress
from contactcenter.phones import InvalidPhone, to_e164

LIST_MANAGEMENT = "list"
CONTACT_MANAGEMENT = "contact"
MODES = ((LIST_MANAGEMENT, _("List management")), (CONTACT_MANAGEMENT, _("Contact management")))


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

    def __init__(self, data=None, queryset=None, *, campaign: Campaign, **kwargs):
        # Always bound: the mode applies even to the bare page, which has no parameters.
        super().__init__(data if data is not None else {}, queryset, **kwargs)
        self.campaign = campaign
        self.region = campaign.tenant.default_phone_region
        self.expression_error = None
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

    def _advanced(self, queryset: QuerySet) -> QuerySet:
        """The advanced filter; one that cannot be read matches nothing (never everything)."""
        try:
            return query.apply(queryset, self.expression)
        except query.QueryError as exc:
            self.expression_error = exc
            return queryset.none()

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
