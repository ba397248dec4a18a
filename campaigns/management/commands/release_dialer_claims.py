from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.api import claims_release_expired
from campaigns.models import Campaign, DialerClaim
from contactcenter.models import Tenant


class Command(BaseCommand):
    help = (
        "Put back in line the contacts a dialer claimed more than DIALER_CLAIM_LEASE_MINUTES "
        "ago and never reported on, in every campaign (or one tenant's). The dialer API does "
        "it by itself on its next call for a campaign; this is for campaigns no dialer asks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="only this tenant (its slug)")

    def handle(self, *args, tenant: str | None, **options) -> None:
        campaigns = Campaign.objects.select_related("tenant").filter(
            pk__in=DialerClaim.objects.values("campaign_id")
        )
        if tenant is not None:
            found = Tenant.objects.filter(slug=tenant).first()
            if found is None:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
            campaigns = campaigns.filter(tenant=found)
        now, total = timezone.now(), 0
        for campaign in campaigns:
            total += claims_release_expired(campaign=campaign, now=now)
        self.stdout.write(f"{total} expired claim(s) released.")
