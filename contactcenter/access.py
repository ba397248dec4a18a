"""Tenant-scoped lookups: the only way a view turns an id from the client into a row.

Another tenant's id answers 404 (it does not exist for you); a row of your own tenant that
your role may not touch answers 403.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from contactcenter.models import Job, Notification, Tenant, User

M = TypeVar("M", bound=Model)


def require_perm(user: User, perm: str | None) -> None:
    if perm and not user.has_perm(perm):
        raise PermissionDenied


def tenant_of(request: HttpRequest) -> Tenant:
    tenant = getattr(request.user, "tenant", None)
    if tenant is None:
        raise Http404("No tenant")
    return tenant


def get_for_tenant(model: type[M], request: HttpRequest, pk: object, perm: str | None = None) -> M:
    """Look `pk` up inside the user's tenant (404 outside it), then check `perm` (403)."""
    obj = get_object_or_404(model.objects.for_tenant(tenant_of(request)), pk=pk)
    require_perm(request.user, perm)
    return obj


def get_job(request: HttpRequest, pk: object) -> Job:
    job = get_for_tenant(Job, request, pk)
    if job.requester_id != request.user.pk:
        require_perm(request.user, "contactcenter.view_all_jobs")
    return job


def get_notification(request: HttpRequest, pk: object) -> Notification:
    return get_object_or_404(
        Notification.objects.for_tenant(tenant_of(request)), pk=pk, user=request.user
    )
