"""Work the address book leaves to the worker: search rows of imported contacts."""

from __future__ import annotations

from celery import shared_task
from django.db import connection, transaction

from addressbook.models import ContactSearch, ExternalContact, SearchBacklog

# Ids indexed in one run past which the tables are analysed at once.
ANALYZE_AFTER = 100_000


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_contacts(tenant_id: int) -> int:
    """Write the search rows an import left for later, range by range; how many ranges.

    Each range in a transaction of its own, skipping ranges another worker holds: two
    deliveries share the work, a dead one loses at most the range it was writing.
    """
    done = ids = 0
    while True:
        with transaction.atomic():
            ranges = SearchBacklog.objects.filter(tenant_id=tenant_id).select_for_update(
                skip_locked=True
            )
            backlog = ranges.order_by("id").first()
            if backlog is None:
                break
            ContactSearch.fill_range(tenant_id, backlog.first_id, backlog.last_id)
            backlog.delete()
        done += 1
        ids += backlog.last_id - backlog.first_id + 1
    if ids >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # A big import changes what the planner must know (how common "paris" is, how many
        # contacts a tenant has): tell it now rather than at autovacuum's next round.
        with connection.cursor() as cursor:
            cursor.execute(
                f"ANALYZE {ExternalContact._meta.db_table}, {ContactSearch._meta.db_table}"
            )
    return done


def index_all_backlogs() -> None:
    """One task per tenant that has search rows waiting (a worker starting, say)."""
    tenants = SearchBacklog.objects.values_list("tenant_id", flat=True).distinct()
    for tenant_id in tenants.order_by("tenant_id"):
        index_contacts.delay(tenant_id)
