"""The platform's own address-book sources: the tenant's agents and supervisors."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contactcenter import roles
from contactcenter.models import Tenant, User
from contactcenter.registry import DirectoryEntry, DirectorySource


def _people(role: str, kind: str):
    def entries(tenant: Tenant, query: str, limit: int) -> Iterator[DirectoryEntry]:
        users = User.objects.filter(tenant=tenant, is_active=True, groups__name=role)
        for word in query.split():
            users = users.filter(
                Q(username__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
        # A tenant has hundreds of people, not millions: sort them in Python, as the merge does.
        found = [
            DirectoryEntry(name=u.get_full_name() or u.username, kind=str(kind), email=u.email)
            for u in users
        ]
        yield from sorted(found, key=lambda entry: entry.sort_key)[:limit]

    return entries


SOURCES = (
    DirectorySource("agents", _("Agents"), _people(roles.AGENT, _("Agent"))),
    DirectorySource("supervisors", _("Supervisors"), _people(roles.SUPERVISOR, _("Supervisor"))),
)
