"""Demo data for `make run`: a tenant, one user per role, sample rows. Safe to run again."""

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from contactcenter import roles
from contactcenter.models import Tenant, User
from sandbox.models import SampleRecord

DEMO_USERS = (
    ("admin", roles.ADMINISTRATOR, "Demo-admin-2026"),
    ("supervisor", roles.SUPERVISOR, "Demo-supervisor-2026"),
    ("agent", roles.AGENT, "Demo-agent-2026"),
)
SAMPLES = (
    ("Dupont Marie", "01 23 45 67 89", "appeler le matin"),
    ("Martin Paul", "+33 6 12 34 56 78", "mobile seulement"),
    ("Bernard Léa", "04 72 00 00 00", "fixe bureau"),
)


class Command(BaseCommand):
    help = "Create the demo tenant, its users (one per role) and sample data. Idempotent."

    def handle(self, *args, **options) -> None:
        tenant, _created = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo"})
        for username, role, password in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"tenant": tenant}
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(
                f"  {role:<14} {username:<11} {password if created else '(password unchanged)'}"
            )
        for name, phone, note in SAMPLES:
            SampleRecord.objects.get_or_create(
                tenant=tenant, name=name, defaults={"phone": phone, "note": note}
            )
        self.stdout.write(self.style.SUCCESS("Demo tenant ready: log in at http://127.0.0.1:8000/"))
