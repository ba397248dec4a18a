"""Demo external contacts for `make run` (registered as a demo seeder in apps.py)."""

from addressbook.models import ExternalContact
from contactcenter.models import Tenant
from contactcenter.phones import to_e164

# Numbers as people type them: national ("04 72 …") and international ("+33 6 …") forms.
DEMO_CONTACTS = (
    {
        "name": "Dupont Marie",
        "address": "12 rue de la République, 69002 Lyon",
        "phone": "04 72 10 20 30",
        "mobile": "+33 6 12 34 56 78",
        "email": "marie.dupont@example.fr",
    },
    {
        "name": "Martin Paul",
        "phone": "+33 1 42 68 53 00",
        "mobile": "06 98 76 54 32",
        "other": "rappeler après 14 h",
    },
    {
        "name": "Bernard Léa",
        "address": "8 allée des Tilleuls, 33000 Bordeaux",
        "phone": "05 56 00 11 22",
        "other": "fixe du bureau seulement",
        "email": "lea.bernard@example.fr",
    },
    {"name": "Lefèvre Jérôme", "mobile": "07 81 23 45 67", "other": "préfère les SMS"},
)


def seed(tenant: Tenant) -> None:
    """Create each demo contact once, numbers also in E.164 as the forms and imports store them."""
    for contact in DEMO_CONTACTS:
        fields = dict(contact)
        name = fields.pop("name")
        for number in ("phone", "mobile"):
            raw = fields.get(number, "")
            fields[f"{number}_e164"] = to_e164(raw, tenant.default_phone_region) if raw else ""
        ExternalContact.objects.get_or_create(tenant=tenant, name=name, defaults=fields)
