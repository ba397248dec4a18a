from django.core.management.base import BaseCommand, CommandError

from campaigns.models import DialerToken
from contactcenter.models import Tenant


class Command(BaseCommand):
    help = (
        "Issue a dialer API token for a tenant and print it once; only its hash is kept. "
        "The dialer sends it as `Authorization: Bearer <token>` to /api/dialer/."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("name", help="what the token is for, e.g. the dialer's host name")

    def handle(self, *args, tenant: str, name: str, **options) -> None:
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        _token, clear = DialerToken.issue(tenant=found, name=name)
        self.stdout.write(clear)
