"""Work the address book leaves to the worker: search rows of imported contacts."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from addressbook.models import ContactSearch, SearchBacklog


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_contacts(tenant_id: int) -> int:
    """Write the search rows an import left for later, range by range; how many ranges.

    Each range in a transaction of its own, skipping ranges another worker holds: two
    deliveries share the work, a dead one loses at most the range it was writing.
    """
    done = 0
    while True:
        with transaction.atomic():
            ranges = SearchBacklog.objects.filter(tenant_id=tenant_id).select_for_update(
                skip_locked=True
            )
            backlog = ranges.order_by("id").first()
            if backlog is None:
                return done
            ContactSearch.fill_range(tenant_id, backlog.first_id, backlog.last_id)
            backlog.delete()
        done += 1


def index_all_backlogs() -> None:
    """One task per tenant that has search rows waiting (a worker starting, say)."""
    tenants = SearchBacklog.objects.values_list("tenant_id", flat=True).distinct()
    for tenant_id in tenants.order_by("tenant_id"):
        index_contacts.delay(tenant_id)
