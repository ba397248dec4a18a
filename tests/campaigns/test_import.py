"""Importing campaign contacts into a contact list through the jobs engine."""

from __future__ import annotations

import csv
import datetime
import io
import threading
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from campaigns.imports import CampaignContactImporter
from campaigns.models import CampaignContact, ContactAddress
from contactcenter import services
from contactcenter.models import Job
from tests.builders import xlsx_bytes
from tests.campaigns.factories import (
    CampaignContactFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
)
from tests.campaigns.uploads import CONTACTS, post_import, rejections
from tests.campaigns.uploads import run_import as _run
from tests.factories import UserFactory
from tests.statements import inserts_into

pytestmark = pytest.mark.usefixtures("english")

HEADER = "Contact ID;Priority;Top priority;Time zone;Agent;Next try;Address 1;Type 1;Address 2;Type 2;Address 3;Type 3\r\n"
State = ContactAddress.State


@pytest.fixture
def contact_list(supervisor):
    return ContactListFactory(campaign__tenant=supervisor.tenant, campaign__name="Spring")


@pytest.fixture
def imported(client_for, supervisor, contact_list, django_capture_on_commit_callbacks):
    """imported(data, name=…, user=…) → the finished Job of that file, into contact_list."""

    def run(data, name: str = "contacts.csv", user=None) -> Job:
        client = client_for(user or supervisor)
        return _run(
            client,
            django_capture_on_commit_callbacks,
            CONTACTS,
            data,
            name,
            contact_list=contact_list.pk,
        )

    return run


def addresses(contact: CampaignContact) -> list[tuple]:
    return list(contact.addresses.order_by("position").values_list("value", "kind", "state"))


# --- the template and the upload page -------------------------------------------------------


def test_template_lists_the_columns_in_order(client_for, supervisor):
    response = client_for(supervisor).get(reverse("import_template", args=[CONTACTS]))
    assert response.content.decode() == "\ufeff" + HEADER.replace(";", ",")


def test_upload_page_offers_only_the_tenants_lists(client_for, supervisor, contact_list):
    ContactListFactory(name="Foreign list")
    response = client_for(supervisor).get(reverse("import_start", args=[CONTACTS]))
    text = response.content.decode()
    assert "Spring — " + contact_list.name in text and "Foreign list" not in text


def test_list_of_another_tenant_is_refused_and_nothing_is_queued(client_for, supervisor):
    foreign = ContactListFactory()
    data = HEADER + ";;;;;;0612345678;;;;;\r\n"
    response = post_import(client_for(supervisor), CONTACTS, data, contact_list=foreign.pk)
    assert response.status_code == 400
    assert "contact_list" in response.context["options_form"].errors
    assert not Job.objects.exists() and not CampaignContact.objects.exists()


def test_agent_may_not_import_contacts(client_for, agent, contact_list):
    response = post_import(client_for(agent), CONTACTS, HEADER, contact_list=contact_list.pk)
    assert response.status_code == 403 and not Job.objects.exists()


# --- good rows -----------------------------------------------------------------------------------


def test_contact_with_several_addresses_goes_to_list_management(imported, contact_list, supervisor):
    job = imported(
        HEADER + "C1;200;oui;America/New_York;sam-supervisor;15/03/2026 09:30;"
        "06 12 34 56 78;mobile;+33 1 23 45 67 89;Home phone;Ada@Example.com;Default\r\n"
    )
    assert (job.status, job.created) == (Job.Status.SUCCEEDED, 1)
    contact = CampaignContact.objects.get()
    assert (contact.contact_list, contact.campaign, contact.in_processing, contact.state) == (
        contact_list,
        contact_list.campaign,
        False,
        CampaignContact.State.WAITING,
    )
    assert (contact.priority, contact.top_priority, contact.preferred_agent) == (
        200,
        True,
        supervisor,
    )
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert contact.next_try_at == datetime.datetime(2026, 3, 15, 9, 30, tzinfo=new_york)
    assert addresses(contact) == [
        ("+33612345678", "mobile", State.SCHEDULED),
        ("+33123456789", "home", State.WAITING),
        ("ada@example.com", "email", State.WAITING),
    ]


def test_blank_values_take_the_defaults(imported, contact_list):
    contact_list.campaign.default_time_zone = "Europe/London"
    contact_list.campaign.save()
    imported("Address 1\r\n0033 6 12 34 56 78\r\n")
    contact = CampaignContact.objects.get()
    assert (contact.priority, contact.top_priority, contact.time_zone) == (
        100,
        False,
        "Europe/London",
    )
    assert (contact.preferred_agent, contact.next_try_at, contact.custom_fields) == (None, None, {})
    assert addresses(contact) == [("+33612345678", "default", State.SCHEDULED)]


def test_iso_next_try_and_a_time_zone_in_any_case(imported):
    imported("Address 1;Next try;Time zone\r\n0612345678;2026-07-01 18:00;europe/paris\r\n")
    contact = CampaignContact.objects.get()
    assert contact.time_zone == "Europe/Paris"
    assert contact.next_try_at == datetime.datetime(2026, 7, 1, 16, 0, tzinfo=datetime.UTC)


def test_blank_ids_are_generated_unique_from_the_job_and_line(imported):
    job = imported("Contact ID;Address 1\r\n;0612345678\r\nX;0612345679\r\n;0612345670\r\n")
    ids = set(CampaignContact.objects.values_list("external_id", flat=True))
    assert ids == {f"{job.pk.hex[:12]}-2", "X", f"{job.pk.hex[:12]}-4"}


def test_xlsx_with_a_date_cell_imports(imported):
    data = xlsx_bytes(
        ["Address 1", "Next try", "Priority"],
        [612345678, datetime.datetime(2026, 5, 4, 11, 0), 7],
    )
    job = imported(data, "contacts.xlsx")
    contact = CampaignContact.objects.get()
    assert (job.created, contact.priority, contact.next_try_at.hour) == (1, 7, 9)


def test_unknown_columns_are_kept_as_custom_fields(imported, client_for, supervisor):
    job = imported("Address 1;Company;Notes\r\n0612345678;ACME;\r\n")
    assert CampaignContact.objects.get().custom_fields == {"Company": "ACME"}
    assert (
        job.options["kept_columns"] == ["Company", "Notes"] and "ignored_columns" not in job.options
    )
    text = client_for(supervisor).get(job.get_absolute_url()).content.decode()
    assert "These other columns of the file were kept as custom fields: Company, Notes" in text


def test_values_with_tabs_line_breaks_and_backslashes_are_kept_as_written(imported):
    notes = 'café "noir"\tC:\\dossier\\N\nfin'
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(
        [["Contact ID", "Address 1", "Notes"], ["ID\\1", "0612345678", notes]]
    )
    job = imported(out.getvalue())
    assert (job.created, job.rejected) == (1, 0)
    contact = CampaignContact.objects.get(import_job=job)
    assert (contact.external_id, contact.custom_fields) == ("ID\\1", {"Notes": notes})


# --- rejected rows ---------------------------------------------------------------------------------


def test_duplicate_ids_in_the_file_and_in_the_campaign_are_rejected(
    imported, contact_list, monkeypatch
):
    monkeypatch.setattr(CampaignContactImporter, "batch_size", 2)
    CampaignContactFactory(contact_list=contact_list, external_id="OLD")
    CampaignContactFactory(external_id="ELSEWHERE")
    job = imported(
        "Contact ID;Address 1\r\nA;0612345678\r\nA;0612345679\r\nB;0612345670\r\n"
        "A;0612345671\r\nOLD;0612345672\r\nELSEWHERE;0612345673\r\n"
    )
    assert (job.status, job.created) == (Job.Status.PARTIAL, 3)
    assert rejections(job) == [
        (3, "Contact ID: “A” appears earlier in the file"),
        (5, "Contact ID: “A” appears earlier in the file"),
        (6, "Contact ID: “OLD” already exists in this campaign"),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_batches_are_inserted_plainly_while_their_ids_are_new(imported, contact_list, monkeypatch):
    monkeypatch.setattr(CampaignContactImporter, "batch_size", 2)
    CampaignContactFactory(contact_list=contact_list, external_id="OLD")
    rows = ["A", "B", "C", "OLD", "D", "E", "F"]
    data = "Contact ID;Address 1\r\n" + "".join(f"{r};061234567{n}\r\n" for n, r in enumerate(rows))
    with inserts_into("campaigns_campaigncontact") as statements:
        job = imported(data)
    assert statements == [
        ("plain", True),  # A, B
        ("plain", False),  # C, OLD: stopped at OLD, nothing left behind…
        ("conflict", True),  # … and written with ON CONFLICT, which refuses OLD
        ("conflict", True),  # D, E: after a batch with a taken id; none here…
        ("plain", True),  # … so F plainly again
    ]
    assert rejections(job) == [(5, "Contact ID: “OLD” already exists in this campaign")]
    created = CampaignContact.objects.filter(import_job=job).order_by("external_id")
    assert [(c.external_id, addresses(c)[0][0]) for c in created] == [
        (r, f"+3361234567{n}") for n, r in enumerate(rows) if r != "OLD"
    ]


def test_invalid_values_are_reported_with_their_column(imported, tenant_b):
    UserFactory(username="oscar", tenant=tenant_b)
    job = imported(
        HEADER + "C1;256;maybe;Mars/Olympus;oscar;31/02/2026 10:00;12;fax;a@;;;\r\n"
        "C2;-1;;;;;;;;;;\r\n"
    )
    assert (job.status, job.created) == (Job.Status.FAILED, 0)
    assert rejections(job) == [
        (
            2,
            "Priority: “256” is not a whole number from 0 to 255; "
            "Top priority: “maybe” is neither yes (1) nor no (0); "
            "Time zone: “Mars/Olympus” is not a time zone (e.g. Europe/Paris); "
            "Agent: no active user “oscar” in your centre; "
            "Next try: “31/02/2026 10:00” is not a date and time (dd/mm/yyyy hh:mm or yyyy-mm-dd hh:mm); "
            "Address 1: “12” is not a valid phone number or email; "
            "Address 2: “a@” is not a valid email address",
        ),
        (3, "Address 1: a value is required; Priority: “-1” is not a whole number from 0 to 255"),
    ]


def test_address_types_must_fit_the_address(imported):
    job = imported("Address 1;Type 1;Address 2;Type 2\r\n0612345678;email;a@example.com;mobile\r\n")
    assert rejections(job) == [
        (
            2,
            "Type 1: the type “email” is for email addresses; "
            "Type 2: the type “mobile” is for phone numbers",
        ),
    ]


# --- do-not-call lists and undo ----------------------------------------------------------------------


def test_addresses_on_an_attached_list_are_blocked_and_the_next_one_scheduled(
    imported, contact_list
):
    dnc = DoNotCallListFactory(tenant=contact_list.tenant)
    contact_list.campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=dnc, value="+33612345678")
    DoNotCallEntryFactory(dnc_list=dnc, value="+33612345679", expires_on=datetime.date(2020, 1, 1))
    DoNotCallEntryFactory(tenant=contact_list.tenant, value="+33612345670")
    imported(
        "Contact ID;Address 1;Address 2;Address 3\r\nA;06 12 34 56 78;0612345679;0612345670\r\n"
    )
    assert addresses(CampaignContact.objects.get()) == [
        ("+33612345678", "default", State.BLOCKED),
        ("+33612345679", "default", State.SCHEDULED),
        ("+33612345670", "default", State.WAITING),
    ]


def test_undo_removes_only_the_contacts_of_that_import(
    imported, client_for, supervisor, contact_list
):
    CampaignContactFactory(contact_list=contact_list, external_id="OLD")
    job = imported(
        "Contact ID;Address 1;Address 2\r\nA;0612345678;a@example.com\r\nB;0612345679;\r\n"
    )
    response = client_for(supervisor).post(reverse("job_undo", args=[job.pk]))
    assert response.status_code == 302
    assert list(CampaignContact.objects.values_list("external_id", flat=True)) == ["OLD"]
    assert not ContactAddress.objects.filter(contact__external_id__in=["A", "B"]).exists()
    assert "Import undone: 2 rows removed." in [str(m) for m in response.wsgi_request._messages]


def test_rows_are_checked_ahead_in_a_thread_without_queries(
    imported, contact_list, settings, monkeypatch, supervisor
):
    settings.JOBS_CHECK_AHEAD = True
    monkeypatch.setattr(CampaignContactImporter, "batch_size", 2)
    original, threads = CampaignContactImporter.clean_row, set()

    def refuse(*args):
        raise AssertionError("clean_row queried the database")

    def clean_row(self, values):
        threads.add(threading.current_thread().name)
        with connection.execute_wrapper(refuse):
            return original(self, values)

    monkeypatch.setattr(CampaignContactImporter, "clean_row", clean_row)
    data = "Contact ID;Agent;Address 1\r\nA;sam-supervisor;0612345678\r\nB;;0612345679\r\n"
    job = imported(data + "C;;0612345670\r\nA;;0612345671\r\n")
    assert threads == {"import-check-ahead"}
    assert (job.status, job.created, rejections(job)) == (
        Job.Status.PARTIAL,
        3,
        [(5, "Contact ID: “A” appears earlier in the file")],
    )
    assert CampaignContact.objects.get(external_id="A").preferred_agent == supervisor


@pytest.mark.parametrize("ahead", [False, True])
def test_a_list_deleted_before_the_job_runs_fails_the_file(
    client_for, supervisor, contact_list, settings, django_capture_on_commit_callbacks, ahead
):
    settings.JOBS_CHECK_AHEAD = ahead
    with django_capture_on_commit_callbacks() as callbacks:
        post_import(
            client_for(supervisor),
            CONTACTS,
            "Address 1\r\n0612345678\r\n",
            contact_list=contact_list.pk,
        )
    contact_list.delete()
    for callback in callbacks:
        callback()
    job = Job.objects.get()
    assert (job.status, job.message, job.created) == (
        Job.Status.FAILED,
        "The contact list chosen for this import no longer exists.",
        0,
    )


# --- launching on import --------------------------------------------------------------------


@pytest.fixture
def clerk(contact_list):
    """May import campaign contacts, not launch them."""
    user = UserFactory(tenant=contact_list.tenant)
    user.user_permissions.add(Permission.objects.get(codename="import_campaigncontact"))
    return user


def test_the_upload_page_offers_launch_to_those_who_may_launch(client_for, supervisor, clerk):
    url = reverse("import_start", args=[CONTACTS])
    assert "launch" in client_for(supervisor).get(url).context["options_form"].fields
    assert "launch" not in client_for(clerk).get(url).context["options_form"].fields


def test_from_contact_management_the_import_link_asks_to_launch(
    client_for, supervisor, contact_list
):
    page = reverse("campaigns:contacts", args=[contact_list.campaign_id])
    url = reverse("import_start", args=[CONTACTS])
    link = f"{url}?contact_list={contact_list.pk}&amp;launch="
    assert f'{link}1"' in client_for(supervisor).get(page + "?mode=contact").content.decode()
    assert f'{link}"' in client_for(supervisor).get(page + "?mode=list").content.decode()
    form = client_for(supervisor).get(f"{url}?contact_list={contact_list.pk}&launch=1")
    assert form.context["options_form"]["launch"].value() == "1"


@pytest.mark.parametrize("launch", [True, False])
def test_imported_contacts_are_launched_when_asked(
    client_for, supervisor, contact_list, django_capture_on_commit_callbacks, launch
):
    params = {"contact_list": contact_list.pk, **({"launch": "on"} if launch else {})}
    data = "Contact ID;Address 1\r\nA;0612345678\r\nB;0612345679\r\n"
    job = _run(client_for(supervisor), django_capture_on_commit_callbacks, CONTACTS, data, **params)
    assert job.created == 2
    assert set(CampaignContact.objects.values_list("in_processing", flat=True)) == {launch}


def test_launch_asked_by_who_may_not_launch_is_ignored(
    client_for, clerk, contact_list, django_capture_on_commit_callbacks
):
    data = "Contact ID;Address 1\r\nA;0612345678\r\n"
    capture = django_capture_on_commit_callbacks
    _run(client_for(clerk), capture, CONTACTS, data, contact_list=contact_list.pk, launch="on")
    assert not CampaignContact.objects.get().in_processing


def test_the_worker_checks_the_launch_permission_again(
    clerk, contact_list, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_start_import(
            user=clerk,
            target=CONTACTS,
            upload=ContentFile(b"Contact ID;Address 1\r\nA;0612345678\r\n", name="c.csv"),
            params={"contact_list": contact_list.pk, "launch": True},
        )
    job.refresh_from_db()
    assert (job.status, job.created) == (Job.Status.SUCCEEDED, 1)
    assert not CampaignContact.objects.get().in_processing
