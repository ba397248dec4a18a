from django.core.management.base import BaseCommand, CommandError

from campaigns import donotcall
from contactcenter.models import Tenant


class Command(BaseCommand):
    help = (
        "Recompute the Blocked addresses of every campaign (or one tenant's) from its "
        "do-not-call lists: lift the blocks of expired or removed entries, block what live "
        "entries match (entries edited in the admin included). For cron, e.g. nightly; the "
        "dialer API and the contacts page lift expired blocks by themselves once a day."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="only this tenant (its slug)")

    def handle(self, *args, tenant: str | None, **options) -> None:
        tenants = Tenant.objects.order_by("slug")
        if tenant is not None:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        for each in tenants:
            changes = donotcall.refresh_blocks(tenant=each)
            self.stdout.write(
                f"{each.slug}: {changes.blocked} blocked, {changes.unblocked} unblocked."
            )
