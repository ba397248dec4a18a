from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Outbound campaigns")

    def ready(self) -> None:
        from campaigns import imports, services
        from contactcenter import registry, roles

        registry.register_importer(imports.CampaignContactImporter)
        registry.register_importer(imports.DoNotCallEntryImporter)
        registry.register_exporter(services.CampaignContactExporter)

        manage = [
            f"campaigns.{action}_{model}"
            for model in (
                "campaign",
                "contactlist",
                "campaigncontact",
                "donotcalllist",
                "callingrules",
                "qualificationcode",
            )
            for action in ("view", "add", "change", "delete")
        ]
        extra = [
            "campaigns.import_campaigncontact",
            "campaigns.export_campaigncontact",
            "campaigns.reset_campaigncontact",
            "campaigns.load_campaigncontact",
            "campaigns.launch_campaigncontact",
            "campaigns.import_donotcalllist",
        ]
        registry.grant(
            roles.ADMINISTRATOR,
            *manage,
            *extra,
            "campaigns.add_dialertoken",
            "campaigns.view_dialertoken",
            "campaigns.delete_dialertoken",
        )
        registry.grant(roles.SUPERVISOR, *manage, *extra)
        registry.grant(
            roles.AGENT,
            "campaigns.view_campaign",
            "campaigns.view_campaigncontact",
            "campaigns.view_contactlist",
        )
