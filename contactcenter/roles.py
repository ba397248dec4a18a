"""The built-in roles and their permissions.

Each app declares its part of the matrix with registry.grant() in AppConfig.ready(); after every
migrate, sync_roles() sets each built-in role's permissions to exactly that matrix. Custom roles
are ordinary groups and are left alone.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contactcenter import registry

ADMINISTRATOR = "Administrator"
SUPERVISOR = "Supervisor"
AGENT = "Agent"
ROLES = (ADMINISTRATOR, SUPERVISOR, AGENT)
# Group names are stored in English; people read them in their language.
LABELS = {ADMINISTRATOR: _("Administrator"), SUPERVISOR: _("Supervisor"), AGENT: _("Agent")}


def _permissions(names: set[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    unknown = names - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if unknown:
        raise LookupError(f"Role matrix names unknown permissions: {sorted(unknown)}")
    return found


def sync_roles(**_kwargs) -> None:
    # Receivers run in app order, so another app's permissions may not exist yet: make them.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(registry.role_permissions.get(role, set())))


def matrix_markdown() -> str:
    """The role × permission table, as the README shows it."""
    perms = sorted(set().union(*registry.role_permissions.values()))
    lines = ["| permission | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for perm in perms:
        marks = [
            "✓" if perm in registry.role_permissions.get(role, set()) else "" for role in ROLES
        ]
        lines.append(f"| `{perm}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)
