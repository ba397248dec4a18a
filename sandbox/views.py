import django_tables2 as tables
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from contactcenter.access import tenant_of
from contactcenter.forms import ExportForm
from sandbox.filters import SampleRecordFilter
from sandbox.models import SampleRecord


class SampleRecordTable(tables.Table):
    class Meta:
        model = SampleRecord
        fields = ("name", "phone", "phone_e164", "note")
        attrs = {"class": "table table-sm table-hover"}
        empty_text = _("No sample records yet: import a file.")


class SampleRecordListView(PermissionRequiredMixin, tables.SingleTableMixin, FilterView):
    permission_required = "sandbox.view_samplerecord"
    table_class = SampleRecordTable
    filterset_class = SampleRecordFilter
    template_name = "sandbox/samplerecord_list.html"
    paginate_by = 25
    extra_context = {"export_form": ExportForm()}

    def get_queryset(self):
        return SampleRecord.objects.for_tenant(tenant_of(self.request))
