"""Demo data for `make run`: a tenant, one user per role, each app's demo rows. Idempotent."""

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from contactcenter import registry, roles
from contactcenter.models import Tenant, User

DEMO_USERS = (
    ("admin", roles.ADMINISTRATOR, "Demo-admin-2026"),
    ("supervisor", roles.SUPERVISOR, "Demo-supervisor-2026"),
    ("agent", roles.AGENT, "Demo-agent-2026"),
)


class Command(BaseCommand):
    help = "Create the demo tenant, its users (one per role) and demo contacts. Idempotent."

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
        # Each app adds its own demo rows (registry.demo_seeders): the platform imports none.
        for seed in registry.demo_seeders:
            seed(tenant)
        self.stdout.write(self.style.SUCCESS("Demo tenant ready: log in at http://127.0.0.1:8000/"))
