import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sandbox.models import SampleRecord


class SampleRecordFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = SampleRecord
        fields = []

    def search(self, queryset, _name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__icontains=value) | Q(note__icontains=value)
        )
