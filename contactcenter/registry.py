"""Registries that domain apps fill in their AppConfig.ready(); the platform imports no app.

- importers / exporters: the jobs engine finds an app's declaration by its target name.
- role permissions: each app declares which of its permissions each role gets.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contactcenter.jobs.exporting import Exporter
    from contactcenter.jobs.importing import Importer


@dataclass(frozen=True)
class DirectoryEntry:
    """One line of an address book, whatever its source."""

    name: str
    kind: str
    phone: str = ""
    mobile: str = ""
    email: str = ""
    link: str = ""

    @property
    def sort_key(self) -> str:
        # "Émile" between "Elsa" and "Fabien", not after "Zoé": accents do not decide the order.
        decomposed = unicodedata.normalize("NFKD", self.name.casefold())
        return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class DirectorySource:
    """Something an address book can include: entries(tenant, query, limit) sorted by sort_key."""

    key: str
    label: str
    entries: Callable[..., Iterator[DirectoryEntry]]


importers: dict[str, type[Importer]] = {}
exporters: dict[str, type[Exporter]] = {}
role_permissions: dict[str, set[str]] = {}
directory_sources: dict[str, DirectorySource] = {}
# Callables seed(tenant) that `manage.py seed_demo` runs, idempotent each.
demo_seeders: list[Callable] = []
# Callables a starting Celery worker runs to queue the follow-up work a dead one left.
on_worker_ready: list[Callable[[], None]] = []


def register_importer(importer: type[Importer]) -> type[Importer]:
    importers[importer.target] = importer
    return importer


def register_exporter(exporter: type[Exporter]) -> type[Exporter]:
    exporters[exporter.target] = exporter
    return exporter


def grant(role: str, *perms: str) -> None:
    """Give `perms` ("app_label.codename") to the built-in role named `role`."""
    role_permissions.setdefault(role, set()).update(perms)


def register_directory_source(source: DirectorySource) -> DirectorySource:
    directory_sources[source.key] = source
    return source
