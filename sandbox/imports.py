from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contactcenter.jobs.exporting import Exporter
from contactcenter.jobs.importing import BatchResult, Column, Importer, RowInvalid
from contactcenter.phones import InvalidPhone, to_e164
from sandbox.models import SampleRecord


class SampleRecordImporter(Importer):
    target = "sandbox.samplerecord"
    verbose_name = gettext_lazy("sample records")
    permission = "sandbox.import_samplerecord"
    columns = (
        Column("Name", required=True, max_length=100),
        Column("Phone", max_length=50),
        Column("Note", max_length=250),
    )

    def clean_row(self, values: dict[str, str]) -> SampleRecord:
        phone, e164 = values["Phone"], ""
        if phone:
            try:
                e164 = to_e164(phone, self.tenant.default_phone_region)
            except InvalidPhone:
                message = _("“%(value)s” is not a valid phone number") % {"value": phone}
                raise RowInvalid([("Phone", message)]) from None
        return SampleRecord(
            tenant=self.tenant,
            import_job=self.job,
            name=values["Name"],
            phone=phone,
            phone_e164=e164,
            note=values["Note"],
        )

    def write_batch(self, rows: list[tuple[int, SampleRecord]]) -> BatchResult:
        keys = {record.name.lower() for _line, record in rows}
        existing = set(
            SampleRecord.objects.for_tenant(self.tenant)
            .annotate(key=Lower("name"))
            .filter(key__in=keys)
            .values_list("key", flat=True)
        )
        result, fresh, seen = BatchResult(), [], set()
        for line, record in rows:
            key = record.name.lower()
            if key in existing:
                result.rejected.append(
                    (line, _("Name: “%(name)s” already exists") % {"name": record.name})
                )
            elif key in seen:
                result.rejected.append(
                    (
                        line,
                        _("Name: “%(name)s” appears earlier in the file") % {"name": record.name},
                    )
                )
            else:
                seen.add(key)
                fresh.append(record)
        SampleRecord.objects.bulk_create(fresh)
        result.created = len(fresh)
        return result


class SampleRecordExporter(Exporter):
    target = "sandbox.samplerecord"
    verbose_name = gettext_lazy("sample records")
    permission = "sandbox.export_samplerecord"
    fields = (("Name", "name"), ("Phone", "phone"), ("Note", "note"))
    phone_columns = frozenset({"Phone"})
    filename = "sample-records"

    def queryset(self) -> QuerySet:
        return SampleRecord.objects.for_tenant(self.tenant).order_by("name")
