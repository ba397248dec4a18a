import django_filters
from django.utils.translation import gettext_lazy as _

from contactcenter.models import Job


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Job.Status.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Job.Kind.choices)

    class Meta:
        model = Job
        fields = ["status", "kind"]
