from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AddressBookConfig(AppConfig):
    name = "addressbook"
    verbose_name = _("Address book")

    def ready(self) -> None:
        from addressbook import demo, directory, exports, imports, tasks
        from contactcenter import registry, roles

        registry.register_importer(imports.ExternalContactImporter)
        registry.register_exporter(exports.ExternalContactExporter)
        registry.register_directory_source(directory.SOURCE)
        registry.demo_seeders.append(demo.seed)
        registry.on_worker_ready.append(tasks.index_all_backlogs)
        contacts = [
            f"addressbook.{a}_externalcontact"
            for a in ("view", "add", "change", "delete", "import", "export")
        ]
        books = [f"addressbook.{a}_addressbook" for a in ("view", "add", "change", "delete")]
        for role in (roles.ADMINISTRATOR, roles.SUPERVISOR):
            registry.grant(role, *contacts, *books)
        registry.grant(
            roles.AGENT, "addressbook.view_externalcontact", "addressbook.view_addressbook"
        )
