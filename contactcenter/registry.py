"""Registries that domain apps fill in their AppConfig.ready(); the platform imports no app.

- importers / exporters: the jobs engine finds an app's declaration by its target name.
- role permissions: each app declares which of its permissions each role gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contactcenter.jobs.exporting import Exporter
    from contactcenter.jobs.importing import Importer

importers: dict[str, type[Importer]] = {}
exporters: dict[str, type[Exporter]] = {}
role_permissions: dict[str, set[str]] = {}


def register_importer(importer: type[Importer]) -> type[Importer]:
    importers[importer.target] = importer
    return importer


def register_exporter(exporter: type[Exporter]) -> type[Exporter]:
    exporters[exporter.target] = exporter
    return exporter


def grant(role: str, *perms: str) -> None:
    """Give `perms` ("app_label.codename") to the built-in role named `role`."""
    role_permissions.setdefault(role, set()).update(perms)
