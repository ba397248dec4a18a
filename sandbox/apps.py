from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """The jobs engine's internal test target, until the address book uses the engine."""

    name = "sandbox"
    verbose_name = _("Jobs engine test target")

    def ready(self) -> None:
        from contactcenter import registry, roles
        from sandbox import imports

        registry.register_importer(imports.SampleRecordImporter)
        registry.register_exporter(imports.SampleRecordExporter)
        everything = ("view", "add", "change", "delete", "import", "export")
        for role in (roles.ADMINISTRATOR, roles.SUPERVISOR):
            registry.grant(role, *(f"sandbox.{action}_samplerecord" for action in everything))
        registry.grant(roles.AGENT, "sandbox.view_samplerecord")
