from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contactcenter import registry, services
from contactcenter.access import get_job, get_notification, require_perm, tenant_of
from contactcenter.filters import JobFilter
from contactcenter.forms import ExportForm, ImportForm
from contactcenter.jobs.exporting import Exporter, _Echo, stream_csv, xlsx_bytes
from contactcenter.jobs.files import FileRejected
from contactcenter.jobs.importing import error_report_rows
from contactcenter.models import Job, Notification
from contactcenter.tables import JobTable

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

AREAS = {
    "pointsofcontact": gettext_lazy("Points of contact"),
    "tracker": gettext_lazy("Tracker"),
}


def dashboard(request: HttpRequest) -> HttpResponse:
    if request.user.tenant_id is None:
        # Platform staff have no tenant: their place is the Django admin.
        return redirect("admin:index")
    jobs = Job.objects.for_tenant(request.user.tenant).filter(requester=request.user)[:5]
    notifications = request.user.notifications.filter(is_read=False)[:5]
    return render(
        request, "contactcenter/dashboard.html", {"jobs": jobs, "notifications": notifications}
    )


def coming_soon(request: HttpRequest, area: str) -> HttpResponse:
    if area not in AREAS:
        raise Http404
    return render(request, "contactcenter/coming_soon.html", {"area": AREAS[area]})


# --- jobs ------------------------------------------------------------------------------------


class JobListView(SingleTableMixin, FilterView):
    table_class = JobTable
    filterset_class = JobFilter
    template_name = "contactcenter/job_list.html"
    paginate_by = 25

    def get_queryset(self):
        jobs = Job.objects.for_tenant(tenant_of(self.request)).select_related("requester")
        if self.request.GET.get("scope") == "all" and self.request.user.has_perm(
            "contactcenter.view_all_jobs"
        ):
            return jobs
        return jobs.filter(requester=self.request.user)


def job_detail(request: HttpRequest, pk) -> HttpResponse:
    job = get_job(request, pk)
    template = (
        "contactcenter/_job_status.html"
        if request.headers.get("HX-Request")
        else "contactcenter/job_detail.html"
    )
    importer = registry.importers.get(job.target)
    context = {"job": job, "importer": importer, "can_undo": _can_undo(request, job, importer)}
    response = render(request, template, context)
    if request.headers.get("HX-Request") and job.is_final:
        # The job has just told its requester: let the navbar bell fetch the new count.
        response.headers["HX-Trigger"] = "notifications-changed"
    return response


def _can_undo(request: HttpRequest, job: Job, importer) -> bool:
    """The undo button: a finished import that created rows, not undone yet, and the right."""
    undoable = importer is not None and importer.undo_permission is not None
    return bool(
        undoable
        and job.kind == Job.Kind.IMPORT
        and job.is_final
        and job.created
        and not job.undone_at
        and request.user.has_perm(importer.undo_permission)
    )


@require_POST
def job_cancel(request: HttpRequest, pk) -> HttpResponse:
    job = get_job(request, pk)
    if job.requester_id != request.user.pk:
        raise PermissionDenied
    if services.job_cancel(job=job):
        messages.info(request, _("The job is cancelled. Rows it had already saved are kept."))
    else:
        messages.warning(request, _("The job had already ended; nothing was cancelled."))
    return redirect(job)


def job_undo(request: HttpRequest, pk) -> HttpResponse:
    """Confirm (GET), then remove (POST) the rows this import created."""
    job = get_job(request, pk)
    importer = registry.importers.get(job.target)
    if not (importer and importer.undo_permission and job.kind == Job.Kind.IMPORT):
        raise Http404
    require_perm(request.user, importer.undo_permission)
    if request.method != "POST":
        context = {"job": job, "count": importer(job).undo_count(), "importer": importer}
        return render(request, "contactcenter/job_confirm_undo.html", context)
    removed = services.job_undo(job=job)
    text = ngettext(
        "Import undone: %(count)d row removed.", "Import undone: %(count)d rows removed.", removed
    )
    messages.success(request, text % {"count": removed})
    return redirect(job)


def job_error_report(request: HttpRequest, pk) -> StreamingHttpResponse:
    job = get_job(request, pk)
    delimiter = job.options.get("table", {}).get("delimiter") or ","
    writer = csv.writer(_Echo(), delimiter=delimiter, lineterminator="\r\n")
    lines = (writer.writerow(row) for row in error_report_rows(job))
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{job.pk}.csv"'
    return response


def _with_bom(lines):
    yield "\ufeff"
    yield from lines


def job_download(request: HttpRequest, pk) -> FileResponse:
    job = get_job(request, pk)
    if not job.result_file:
        raise Http404
    return FileResponse(
        job.result_file.open("rb"),
        as_attachment=True,
        filename=job.result_file.name.rsplit("/", 1)[-1],
    )


# --- generic import and export pages ----------------------------------------------------------


def _importer(request: HttpRequest, target: str):
    tenant_of(request)
    importer = registry.importers.get(target)
    if importer is None:
        raise Http404
    require_perm(request.user, importer.permission)
    return importer


def import_start(request: HttpRequest, target: str) -> HttpResponse:
    importer = _importer(request, target)
    form = ImportForm(request.POST or None, request.FILES or None)
    options = _options_form(request, importer)
    # Both forms validated, so that every mistake shows at once.
    valid = [f.is_valid() for f in (form, options) if f is not None]
    if request.method == "POST" and all(valid):
        try:
            job = services.job_start_import(
                user=request.user,
                target=target,
                upload=form.cleaned_data["file"],
                params=options.cleaned_data if options else None,
            )
        except FileRejected as exc:
            form.add_error("file", exc.message)
        else:
            return redirect(job)
    status = 400 if form.errors or (options and options.errors) else 200
    context = {"form": form, "options_form": options, "importer": importer}
    return render(request, "contactcenter/import.html", context, status=status)


def _options_form(request: HttpRequest, importer):
    """The importer's own choices (Importer.options_form); a link may preset them (?dnc_list=3)."""
    if importer.options_form is None:
        return None
    data = request.POST if request.method == "POST" else None
    return importer.options_form(
        data, tenant=tenant_of(request), user=request.user, initial=request.GET.dict()
    )


def import_template(request: HttpRequest, target: str) -> HttpResponse:
    importer = _importer(request, target)
    response = HttpResponse(
        "\ufeff" + importer.template_csv(), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{target.split(".")[-1]}-template.csv"'
    return response


def export_selection(
    request: HttpRequest, *, exporter: type[Exporter], selection: dict, count: int
) -> HttpResponse:
    """A list page's export of what the user selected: at once when small, else an export job.

    `selection` is the exporter's options that replay the selection (ids or a filter); the
    format and separator come from the page's ExportForm.
    """
    form = ExportForm(request.POST)
    valid = form.is_valid()
    fmt = form.cleaned_data["format"] if valid else "csv"
    delimiter = (form.cleaned_data["delimiter"] if valid else "") or ","
    options = {**selection, "format": fmt, "delimiter": delimiter}
    if count > settings.JOBS_EXPORT_INLINE_MAX_ROWS:
        job = services.job_start_export(user=request.user, target=exporter.target, options=options)
        messages.success(
            request, _("The export has started; you will be notified when the file is ready.")
        )
        return redirect(job)
    rows = exporter(request.user.tenant, options)
    if fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(rows), content_type=XLSX_CONTENT_TYPE)
    else:
        response = StreamingHttpResponse(
            stream_csv(rows, delimiter), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{rows.filename}.{fmt}"'
    return response


@require_POST
def export_start(request: HttpRequest, target: str) -> HttpResponse:
    tenant_of(request)
    exporter = registry.exporters.get(target)
    if exporter is None:
        raise Http404
    require_perm(request.user, exporter.permission)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose CSV or XLSX for the export."))
        return redirect("dashboard")
    job = services.job_start_export(user=request.user, target=target, options=form.cleaned_data)
    messages.success(
        request, _("The export has started; you will be notified when the file is ready.")
    )
    return redirect(job)


# --- notifications ---------------------------------------------------------------------------


def notification_list(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.for_tenant(tenant_of(request)).filter(user=request.user)[:200]
    return render(request, "contactcenter/notification_list.html", {"notifications": items})


def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(request, "contactcenter/_bell.html")


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_notification(request, pk)
    notification.is_read = True
    notification.save(update_fields=["is_read"])
    safe = url_has_allowed_host_and_scheme(notification.link, allowed_hosts={request.get_host()})
    if notification.link and safe and request.POST.get("follow"):
        return redirect(notification.link)
    return redirect("notification_list")


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = (
        Notification.objects.for_tenant(tenant_of(request))
        .filter(user=request.user, is_read=False)
        .update(is_read=True)
    )
    text = ngettext(
        "%(count)d notification marked as read.", "%(count)d notifications marked as read.", count
    )
    messages.success(request, text % {"count": count})
    return redirect("notification_list")
