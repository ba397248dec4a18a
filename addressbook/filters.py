from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from addressbook import search
from addressbook.models import ExternalContact
from contactcenter.phones import InvalidPhone, to_e164


class ExternalContactFilter(django_filters.FilterSet):
    """The list page's filters; exports and bulk actions replay them from the same parameters."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="keyword",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, number, address, email, notes…")}
        ),
    )
    phone = django_filters.CharFilter(label=_("Phone or mobile"), method="number")
    email = django_filters.CharFilter(label=_("Email"), field_name="email", lookup_expr="icontains")

    class Meta:
        model = ExternalContact
        fields = ["q", "phone", "email"]

    def __init__(self, data=None, queryset=None, *, tenant=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.tenant = tenant
        self.region = tenant.default_phone_region if tenant else "FR"

    def keyword(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        """Every word appears in some column; or the whole term is a number, however written."""
        return search.filter_contacts(queryset, self.tenant, search.words(value, self._e164(value)))

    def number(self, queryset: QuerySet, _name: str, value: str) -> QuerySet:
        e164 = self._e164(value)
        condition = search.number(e164) if e164 else search.digits(value)
        return search.filter_contacts(queryset, self.tenant, condition)

    def _e164(self, value: str) -> str | None:
        try:
            return to_e164(value, self.region)
        except InvalidPhone:
            return None
