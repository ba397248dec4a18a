"""Tenant isolation and permissions on every view that takes an id or mutates."""

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contactcenter.models import Job, Notification
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
    QualificationCodeFactory,
    SavedFilterFactory,
)
from tests.factories import (
    AddressBookFactory,
    ExternalContactFactory,
    JobFactory,
    NotificationFactory,
)

# The address book's external contacts: an import and export target of the jobs engine.
CONTACTS = "addressbook.externalcontact"

# URL name → how to reach it with an object of tenant A: (HTTP method, factory of the kwargs).
ID_URLS = {
    "job_detail": ("get", lambda owner: {"pk": JobFactory(requester=owner).pk}),
    "job_cancel": ("post", lambda owner: {"pk": JobFactory(requester=owner).pk}),
    "job_error_report": ("get", lambda owner: {"pk": JobFactory(requester=owner).pk}),
    "job_download": ("get", lambda owner: {"pk": _finished_export(owner).pk}),
    "notification_read": ("post", lambda owner: {"pk": NotificationFactory(user=owner).pk}),
    "job_undo": ("post", lambda owner: {"pk": _finished_import(owner).pk}),
    "addressbook:contact_edit": (
        "post",
        lambda owner: {"pk": ExternalContactFactory(tenant=owner.tenant).pk},
    ),
    "addressbook:contact_delete": (
        "post",
        lambda owner: {"pk": ExternalContactFactory(tenant=owner.tenant).pk},
    ),
    "addressbook:book_detail": (
        "get",
        lambda owner: {"pk": AddressBookFactory(tenant=owner.tenant).pk},
    ),
    "addressbook:book_edit": (
        "post",
        lambda owner: {"pk": AddressBookFactory(tenant=owner.tenant).pk},
    ),
    "addressbook:book_delete": (
        "post",
        lambda owner: {"pk": AddressBookFactory(tenant=owner.tenant).pk},
    ),
    "campaigns:filter_save": (
        "post",
        lambda owner: {"pk": CampaignFactory(tenant=owner.tenant).pk},
    ),
    "campaigns:filter_clause": (
        "get",
        lambda owner: {"pk": CampaignFactory(tenant=owner.tenant).pk},
    ),
    "campaigns:filter_delete": ("post", lambda owner: {"pk": SavedFilterFactory(user=owner).pk}),
    "campaigns:dnc_detail": ("get", lambda owner: {"pk": _dnc_list(owner).pk}),
    "campaigns:dnc_edit": ("post", lambda owner: {"pk": _dnc_list(owner).pk}),
    "campaigns:dnc_delete": ("post", lambda owner: {"pk": _dnc_list(owner).pk}),
    "campaigns:dnc_entry_add": ("post", lambda owner: {"pk": _dnc_list(owner).pk}),
    "campaigns:dnc_entry_delete": (
        "post",
        lambda owner: {"pk": DoNotCallEntryFactory(dnc_list=_dnc_list(owner)).pk},
    ),
    **{
        f"campaigns:{name}": (method, lambda owner: {"pk": CampaignFactory(tenant=owner.tenant).pk})
        for name, method in (
            ("campaign_edit", "get"),
            ("campaign_delete", "get"),
            ("lists", "get"),
            ("list_create", "get"),
            ("qualifications", "get"),
            ("contacts", "get"),
            ("contact_count", "get"),
            ("columns_save", "post"),
            ("contact_create", "get"),
            ("contact_bulk", "post"),
        )
    },
    "campaigns:list_edit": ("get", lambda owner: {"pk": _contact_list(owner).pk}),
    "campaigns:list_delete": ("get", lambda owner: {"pk": _contact_list(owner).pk}),
    "campaigns:qualification_delete": (
        "post",
        lambda owner: {"pk": QualificationCodeFactory(campaign__tenant=owner.tenant).pk},
    ),
    "campaigns:contact_edit": ("get", lambda owner: {"pk": _campaign_contact(owner).pk}),
    "campaigns:contact_delete": ("get", lambda owner: {"pk": _campaign_contact(owner).pk}),
}


def _contact_list(owner):
    return ContactListFactory(campaign__tenant=owner.tenant)


def _campaign_contact(owner):
    return CampaignContactFactory(contact_list=_contact_list(owner))


def _dnc_list(owner):
    return DoNotCallListFactory(tenant=owner.tenant)


def _finished_import(owner) -> Job:
    return JobFactory(
        requester=owner,
        target=CONTACTS,
        status=Job.Status.SUCCEEDED,
        created=1,
    )


def _finished_export(owner) -> Job:
    job = JobFactory(requester=owner, kind=Job.Kind.EXPORT, status=Job.Status.SUCCEEDED)
    job.result_file.save("export.csv", ContentFile(b"Name\r\n"))
    return job


# Parameters that are not row ids: a product area, or a registered import/export target.
NOT_IDS = {"coming_soon", "import_start", "import_template", "export_start"}
# The dialer API answers a token, not a session (401/404, never a redirect to the login):
# tests/campaigns/test_dialer_api.py covers its tenant isolation.
NOT_IDS |= {"dialer_next"}


def _named_patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                yield from _named_patterns(
                    entry, prefix + (f"{entry.namespace}:" if entry.namespace else "")
                )
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + entry.name, entry.pattern.converters


def test_every_url_taking_an_id_is_covered_by_the_isolation_tests():
    with_params = {name for name, converters in _named_patterns() if converters}
    assert with_params - NOT_IDS == set(ID_URLS)


@pytest.mark.parametrize("name", sorted(ID_URLS))
def test_outsider_gets_404_for_another_tenants_id(name, supervisor, outsider, client_for):
    method, make = ID_URLS[name]
    url = reverse(name, kwargs=make(supervisor))
    response = getattr(client_for(outsider), method)(url)
    assert response.status_code == 404


@pytest.mark.parametrize("name", sorted(ID_URLS))
def test_owner_reaches_their_own_rows(name, supervisor, client_for):
    method, make = ID_URLS[name]
    response = getattr(client_for(supervisor), method)(reverse(name, kwargs=make(supervisor)))
    assert response.status_code in (200, 302)


def test_anonymous_is_sent_to_login(client, supervisor):
    job = JobFactory(requester=supervisor)
    response = client.get(reverse("job_detail", args=[job.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_colleague_without_view_all_jobs_gets_403(supervisor, agent, client_for):
    job = JobFactory(requester=supervisor)
    assert client_for(agent).get(reverse("job_detail", args=[job.pk])).status_code == 403


def test_administrator_sees_a_colleagues_job(supervisor, administrator, client_for):
    job = JobFactory(requester=supervisor)
    assert client_for(administrator).get(reverse("job_detail", args=[job.pk])).status_code == 200


def test_job_list_shows_only_my_jobs_unless_admin_asks_for_all(
    supervisor, administrator, outsider, client_for
):
    mine, colleague, foreign = (
        JobFactory(requester=administrator),
        JobFactory(requester=supervisor),
        JobFactory(requester=outsider),
    )
    client = client_for(administrator)
    assert list(client.get(reverse("job_list")).context["table"].data) == [mine]
    everyone = set(client.get(reverse("job_list") + "?scope=all").context["table"].data)
    assert everyone == {mine, colleague} and foreign not in everyone


def test_scope_all_is_ignored_without_the_permission(supervisor, agent, client_for):
    JobFactory(requester=agent)
    assert (
        list(client_for(supervisor).get(reverse("job_list") + "?scope=all").context["table"].data)
        == []
    )


# --- mutating views: happy path, GET refused, outsider 404, no permission 403 ----------------


def test_cancel_job_cancels_a_queued_job(supervisor, client_for):
    job = JobFactory(requester=supervisor)
    response = client_for(supervisor).post(reverse("job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert response.status_code == 302 and job.status == Job.Status.CANCELLED


def test_cancel_job_refuses_get(supervisor, client_for):
    job = JobFactory(requester=supervisor)
    assert client_for(supervisor).get(reverse("job_cancel", args=[job.pk])).status_code == 405
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_cancel_job_by_someone_else_is_403_and_changes_nothing(
    supervisor, administrator, client_for
):
    job = JobFactory(requester=supervisor)
    assert client_for(administrator).post(reverse("job_cancel", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_cancel_job_of_another_tenant_is_404_and_changes_nothing(supervisor, outsider, client_for):
    job = JobFactory(requester=supervisor)
    assert client_for(outsider).post(reverse("job_cancel", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_mark_notification_read(supervisor, client_for):
    notification = NotificationFactory(user=supervisor)
    client_for(supervisor).post(reverse("notification_read", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.is_read


def test_mark_notification_read_refuses_get(supervisor, client_for):
    notification = NotificationFactory(user=supervisor)
    assert (
        client_for(supervisor).get(reverse("notification_read", args=[notification.pk])).status_code
        == 405
    )


def test_someone_elses_notification_is_404(supervisor, agent, client_for):
    notification = NotificationFactory(user=supervisor)
    assert (
        client_for(agent).post(reverse("notification_read", args=[notification.pk])).status_code
        == 404
    )
    notification.refresh_from_db()
    assert not notification.is_read


def test_mark_all_read_touches_only_my_notifications(supervisor, agent, outsider, client_for):
    mine, _theirs, _foreign = (NotificationFactory(user=u) for u in (supervisor, agent, outsider))
    assert client_for(supervisor).get(reverse("notification_read_all")).status_code == 405
    client_for(supervisor).post(reverse("notification_read_all"))
    assert list(Notification.objects.filter(is_read=True)) == [mine]


def test_agent_may_not_import_or_export(agent, client_for):
    client = client_for(agent)
    assert client.get(reverse("import_start", args=[CONTACTS])).status_code == 403
    assert client.get(reverse("import_template", args=[CONTACTS])).status_code == 403
    export = client.post(reverse("export_start", args=[CONTACTS]), {"format": "csv"})
    assert export.status_code == 403
    assert not Job.objects.exists()


def test_export_start_refuses_get(supervisor, client_for):
    response = client_for(supervisor).get(reverse("export_start", args=[CONTACTS]))
    assert response.status_code == 405


def test_unknown_import_target_is_404(supervisor, client_for):
    assert (
        client_for(supervisor).get(reverse("import_start", args=["nope.nothing"])).status_code
        == 404
    )


def test_platform_staff_without_tenant_go_to_the_admin(admin_user, client_for):
    response = client_for(admin_user).get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_platform_staff_reach_no_tenant_rows(admin_user, supervisor, client_for):
    job = JobFactory(requester=supervisor)
    assert client_for(admin_user).get(reverse("job_detail", args=[job.pk])).status_code == 404
