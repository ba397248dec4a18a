from django.apps import AppConfig
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
        # Permissions exist only after post_migrate created them; the roles follow.
        post_migrate.connect(roles.sync_roles, dispatch_uid="contactcenter.sync_roles")
