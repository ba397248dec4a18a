from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ContactCenterConfig(AppConfig):
    name = "contactcenter"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from contactcenter import directory, registry, roles

        registry.grant(roles.ADMINISTRATOR, "contactcenter.view_all_jobs")
        for source in directory.SOURCES:
            registry.register_directory_source(source)
        connection_created.connect(
            unicode_lower_for_sqlite, dispatch_uid="contactcenter.sqlite_lower"
        )
        # Permissions exist only after post_migrate created them; the roles follow.
        post_migrate.connect(roles.sync_roles, dispatch_uid="contactcenter.sync_roles")


def unicode_lower_for_sqlite(sender, connection, **_kwargs) -> None:
    """SQLite's own LOWER() folds ASCII only ("É" stays "É"); PostgreSQL's folds every letter.

    The embedded run and the tests use SQLite: give it Python's lower(), so that unique names,
    keyword search and duplicate checks behave as they do in production.
    """
    if connection.vendor == "sqlite":
        connection.connection.create_function("LOWER", 1, _lower, deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value
