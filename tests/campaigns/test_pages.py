"""Campaign pages: the list, create/edit/delete, contact lists and their states, qualification
codes, the way in from the navbar and the dashboard, and the Django admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns import scheduling
from campaigns.models import (
    CallingRules,
    Campaign,
    CampaignContact,
    ColumnChoice,
    ContactAddress,
    ContactList,
    DialerToken,
    QualificationCode,
)
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
    QualificationCodeFactory,
    SavedFilterFactory,
)

pytestmark = pytest.mark.usefixtures("english")

LIST = reverse("campaigns:campaign_list")
CREATE = reverse("campaigns:campaign_create")
State = CampaignContact.State


def campaign_data(**changes) -> dict:
    data = {
        "name": "Winter offers",
        "state": "paused",
        "max_attempts": 5,
        "rules": "",
        "default_time_zone": "Europe/Paris",
    }
    return {**data, **changes}


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant, name="Spring offers")


# --- the campaign list --------------------------------------------------------------------------


def test_campaign_list_shows_the_tenants_campaigns_only(client_for, agent, outsider, campaign):
    CampaignFactory(tenant=outsider.tenant, name="Foreign offers")
    text = client_for(agent).get(LIST).content.decode()
    assert "Spring offers" in text and "Foreign offers" not in text
    assert campaign.get_absolute_url() in text


def test_campaign_list_offers_new_campaign_to_supervisors_only(client_for, supervisor, agent):
    assert CREATE in client_for(supervisor).get(LIST).content.decode()
    assert CREATE not in client_for(agent).get(LIST).content.decode()


def test_navbar_and_dashboard_lead_to_the_campaigns(client_for, agent):
    text = client_for(agent).get(reverse("dashboard")).content.decode()
    assert text.count(f'href="{LIST}"') >= 2
    assert client_for(agent).get(reverse("coming_soon", args=["outbound"])).status_code == 404


# --- create and edit ----------------------------------------------------------------------------


def test_create_campaign(client_for, supervisor):
    response = client_for(supervisor).post(CREATE, campaign_data())
    campaign = Campaign.objects.get(name="Winter offers")
    assert response.status_code == 302 and response.url == campaign.get_absolute_url()
    assert (campaign.tenant, campaign.state, campaign.calling_rules) == (
        supervisor.tenant,
        "paused",
        None,
    )


def test_create_campaign_with_the_french_rules_makes_the_preset_once(client_for, supervisor):
    client = client_for(supervisor)
    client.post(CREATE, campaign_data(rules="french"))
    client.post(CREATE, campaign_data(name="Other", rules="french"))
    preset = CallingRules.objects.get(tenant=supervisor.tenant)
    assert preset.name == scheduling.FRENCH_RULES_NAME and preset.holidays_country == "FR"
    assert set(Campaign.objects.values_list("calling_rules", flat=True)) == {preset.pk}


def test_edit_form_shows_the_preset_as_the_french_choice(client_for, supervisor, campaign):
    campaign.calling_rules = scheduling.french_rules(supervisor.tenant)
    campaign.save()
    form = client_for(supervisor).get(reverse("campaigns:campaign_edit", args=[campaign.pk]))
    assert form.context["form"].initial["rules"] == "french"
    assert len(form.context["form"].fields["rules"].choices) == 2


def test_campaign_takes_one_of_the_tenants_own_rules(client_for, supervisor, outsider, campaign):
    own = CallingRules.objects.create(tenant=supervisor.tenant, name="Evenings")
    foreign = CallingRules.objects.create(tenant=outsider.tenant, name="Theirs")
    url = reverse("campaigns:campaign_edit", args=[campaign.pk])
    client = client_for(supervisor)
    assert client.post(url, campaign_data(rules=str(foreign.pk))).status_code == 400
    client.post(url, campaign_data(rules=str(own.pk)))
    campaign.refresh_from_db()
    assert campaign.calling_rules == own


@pytest.mark.parametrize("taken", ["Spring offers", "SPRING OFFERS", " spring offers "])
def test_create_refuses_a_name_taken_in_the_tenant(client_for, supervisor, campaign, taken):
    response = client_for(supervisor).post(CREATE, campaign_data(name=taken))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Campaign.objects.count() == 1


def test_attaching_a_do_not_call_list_blocks_matching_addresses(client_for, supervisor, campaign):
    dnc = DoNotCallListFactory(tenant=supervisor.tenant)
    DoNotCallEntryFactory(dnc_list=dnc, value="+33612345678")
    contact = CampaignContactFactory(contact_list=ContactListFactory(campaign=campaign))
    blocked = ContactAddressFactory(contact=contact, value="+33612345678", position=0)
    kept = ContactAddressFactory(contact=contact, value="+33699999999", position=1)
    url = reverse("campaigns:campaign_edit", args=[campaign.pk])
    client_for(supervisor).post(url, campaign_data(do_not_call_lists=[dnc.pk]))
    states = dict(ContactAddress.objects.values_list("pk", "state"))
    assert states == {blocked.pk: "blocked", kept.pk: "scheduled"}


def test_detaching_the_list_releases_them(client_for, supervisor, campaign):
    dnc = DoNotCallListFactory(tenant=supervisor.tenant)
    DoNotCallEntryFactory(dnc_list=dnc, value="+33612345678")
    campaign.do_not_call_lists.add(dnc)
    contact = CampaignContactFactory(contact_list=ContactListFactory(campaign=campaign))
    address = ContactAddressFactory(contact=contact, value="+33612345678", state="blocked")
    url = reverse("campaigns:campaign_edit", args=[campaign.pk])
    client_for(supervisor).post(url, campaign_data())
    address.refresh_from_db()
    assert address.state != "blocked"


def test_another_tenants_do_not_call_list_is_refused(client_for, supervisor, outsider, campaign):
    foreign = DoNotCallListFactory(tenant=outsider.tenant)
    url = reverse("campaigns:campaign_edit", args=[campaign.pk])
    response = client_for(supervisor).post(url, campaign_data(do_not_call_lists=[foreign.pk]))
    assert response.status_code == 400 and not campaign.do_not_call_lists.exists()


def test_agent_may_not_create_or_edit_campaigns(client_for, agent, campaign):
    client = client_for(agent)
    assert client.post(CREATE, campaign_data(name="New")).status_code == 403
    edit = reverse("campaigns:campaign_edit", args=[campaign.pk])
    assert client.post(edit, campaign_data(name="Renamed")).status_code == 403
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Spring offers"]


# --- delete -------------------------------------------------------------------------------------


def test_delete_campaign_asks_first_then_deletes_everything(client_for, supervisor, campaign):
    CampaignContactFactory.create_batch(2, contact_list=ContactListFactory(campaign=campaign))
    url = reverse("campaigns:campaign_delete", args=[campaign.pk])
    client = client_for(supervisor)
    assert "its 2 contacts are deleted" in client.get(url).content.decode()
    assert Campaign.objects.exists()
    assert client.post(url).url == LIST
    assert not Campaign.objects.exists() and not CampaignContact.objects.exists()


def test_agent_may_not_delete_a_campaign(client_for, agent, campaign):
    url = reverse("campaigns:campaign_delete", args=[campaign.pk])
    assert client_for(agent).post(url).status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_outsider_may_not_delete_a_campaign(client_for, outsider, campaign):
    url = reverse("campaigns:campaign_delete", args=[campaign.pk])
    assert client_for(outsider).post(url).status_code == 404
    assert Campaign.objects.filter(pk=campaign.pk).exists()


# --- contact lists ------------------------------------------------------------------------------


@pytest.fixture
def held(campaign):
    """A list with contacts in every state a list's state may or may not touch."""
    contact_list = ContactListFactory(campaign=campaign, name="January")
    for state in (State.WAITING, State.DONE, State.RUNNING, State.FAILED, State.PAUSED):
        CampaignContactFactory(contact_list=contact_list, state=state, external_id=state)
    return contact_list


def states(contact_list) -> dict[str, str]:
    return dict(contact_list.contacts.values_list("external_id", "state"))


def test_lists_page_shows_the_lists_with_their_counts(client_for, agent, held):
    response = client_for(agent).get(reverse("campaigns:lists", args=[held.campaign_id]))
    rows = {row.name: row.contact_count for row in response.context["table"].data}
    assert rows == {"January": 5}


def test_create_a_list(client_for, supervisor, campaign):
    url = reverse("campaigns:list_create", args=[campaign.pk])
    response = client_for(supervisor).post(url, {"name": "February", "state": "active"})
    assert response.url == reverse("campaigns:lists", args=[campaign.pk])
    assert campaign.lists.get().tenant == supervisor.tenant


def test_list_names_are_unique_in_a_campaign(client_for, supervisor, held):
    url = reverse("campaigns:list_create", args=[held.campaign_id])
    response = client_for(supervisor).post(url, {"name": "JANUARY", "state": "active"})
    assert response.status_code == 400 and ContactList.objects.count() == 1


@pytest.mark.parametrize(
    ("new_state", "moved_to"),
    [("stopped", State.LIST_STOPPED), ("suspended", State.LIST_SUSPENDED)],
)
def test_stopping_or_suspending_a_list_holds_its_waiting_contacts(
    client_for, supervisor, held, new_state, moved_to
):
    url = reverse("campaigns:list_edit", args=[held.pk])
    client_for(supervisor).post(url, {"name": "January", "state": new_state})
    assert states(held) == {
        "waiting": moved_to,
        "done": "done",
        "running": "running",
        "failed": "failed",
        "paused": "paused",
    }


def test_making_a_list_active_again_releases_its_contacts(client_for, supervisor, held):
    url = reverse("campaigns:list_edit", args=[held.pk])
    client = client_for(supervisor)
    client.post(url, {"name": "January", "state": "stopped"})
    client.post(url, {"name": "January", "state": "suspended"})
    assert states(held)["waiting"] == State.LIST_SUSPENDED
    response = client.post(url, {"name": "Renamed", "state": "active"}, follow=True)
    assert states(held)["waiting"] == State.WAITING and states(held)["done"] == "done"
    assert "1 contact changed state" in response.content.decode()


def test_renaming_a_list_leaves_its_contacts_alone(client_for, supervisor, held):
    url = reverse("campaigns:list_edit", args=[held.pk])
    client_for(supervisor).post(url, {"name": "Renamed", "state": "active"})
    held.refresh_from_db()
    assert held.name == "Renamed" and states(held)["waiting"] == "waiting"


def test_delete_a_list_with_its_contacts(client_for, supervisor, held):
    url = reverse("campaigns:list_delete", args=[held.pk])
    client = client_for(supervisor)
    assert "Its 5 contacts are deleted" in client.get(url).content.decode()
    ContactAddressFactory(contact=held.contacts.first())
    client.post(url)
    assert not ContactList.objects.exists() and not CampaignContact.objects.exists()
    # No constraint in the database deletes them: Django's CASCADE does.
    assert not ContactAddress.objects.exists()


def test_agent_may_not_change_lists(client_for, agent, held):
    client = client_for(agent)
    create = reverse("campaigns:list_create", args=[held.campaign_id])
    assert client.post(create, {"name": "New", "state": "active"}).status_code == 403
    edit = reverse("campaigns:list_edit", args=[held.pk])
    assert client.post(edit, {"name": "January", "state": "stopped"}).status_code == 403
    assert client.post(reverse("campaigns:list_delete", args=[held.pk])).status_code == 403
    assert states(held)["waiting"] == "waiting" and ContactList.objects.count() == 1


def test_outsider_may_not_change_lists(client_for, outsider, held):
    edit = reverse("campaigns:list_edit", args=[held.pk])
    assert client_for(outsider).post(edit, {"name": "X", "state": "stopped"}).status_code == 404
    assert states(held)["waiting"] == "waiting"


def test_a_list_offers_an_import_into_itself(client_for, supervisor, agent, held):
    url = reverse("import_start", args=["campaigns.campaigncontact"]) + f"?contact_list={held.pk}"
    lists = reverse("campaigns:lists", args=[held.campaign_id])
    assert url.replace("&", "&amp;") in client_for(supervisor).get(lists).content.decode()
    assert url not in client_for(agent).get(lists).content.decode()
    form = client_for(supervisor).get(url).context["options_form"]
    assert form["contact_list"].value() == str(held.pk)


# --- qualification codes ------------------------------------------------------------------------


def test_add_a_qualification_code(client_for, supervisor, campaign):
    url = reverse("campaigns:qualifications", args=[campaign.pk])
    data = {"code": "SALE", "label": "Sale", "is_final": "on"}
    assert client_for(supervisor).post(url, data).url == url
    code = campaign.qualifications.get()
    assert (code.code, code.label, code.is_final, code.tenant) == (
        "SALE",
        "Sale",
        True,
        supervisor.tenant,
    )


def test_codes_are_unique_in_a_campaign(client_for, supervisor, campaign):
    QualificationCodeFactory(campaign=campaign, code="SALE")
    url = reverse("campaigns:qualifications", args=[campaign.pk])
    response = client_for(supervisor).post(url, {"code": "SALE", "label": "Again"})
    assert response.status_code == 400 and campaign.qualifications.count() == 1


def test_remove_a_qualification_code_keeps_its_contacts(client_for, supervisor, campaign):
    code = QualificationCodeFactory(campaign=campaign)
    contact = CampaignContactFactory(
        contact_list=ContactListFactory(campaign=campaign), qualification=code
    )
    client_for(supervisor).post(reverse("campaigns:qualification_delete", args=[code.pk]))
    contact.refresh_from_db()
    assert not QualificationCode.objects.exists() and contact.qualification is None


def test_remove_a_code_refuses_get(client_for, supervisor, campaign):
    code = QualificationCodeFactory(campaign=campaign)
    url = reverse("campaigns:qualification_delete", args=[code.pk])
    assert client_for(supervisor).get(url).status_code == 405
    assert QualificationCode.objects.exists()


def test_agent_sees_the_codes_but_may_not_change_them(client_for, agent, campaign):
    code = QualificationCodeFactory(campaign=campaign, code="SALE")
    client = client_for(agent)
    url = reverse("campaigns:qualifications", args=[campaign.pk])
    assert "SALE" in client.get(url).content.decode()
    assert client.post(url, {"code": "NEW", "label": "New"}).status_code == 403
    delete = reverse("campaigns:qualification_delete", args=[code.pk])
    assert client.post(delete).status_code == 403
    assert list(QualificationCode.objects.values_list("code", flat=True)) == ["SALE"]


def test_outsider_may_not_remove_a_code(client_for, outsider, campaign):
    code = QualificationCodeFactory(campaign=campaign)
    url = reverse("campaigns:qualification_delete", args=[code.pk])
    assert client_for(outsider).post(url).status_code == 404
    assert QualificationCode.objects.exists()


# --- the Django admin ---------------------------------------------------------------------------

ADMIN_MODELS = (
    "callingrules",
    "donotcalllist",
    "donotcallentry",
    "campaign",
    "qualificationcode",
    "contactlist",
    "campaigncontact",
    "contactaddress",
    "callattempt",
    "savedfilter",
    "columnchoice",
    "dialertoken",
)


@pytest.fixture
def admin_rows(supervisor, campaign):
    contact = CampaignContactFactory(contact_list=ContactListFactory(campaign=campaign))
    address = ContactAddressFactory(contact=contact)
    dnc_entry = DoNotCallEntryFactory(dnc_list=DoNotCallListFactory(tenant=supervisor.tenant))
    return {
        "callingrules": scheduling.french_rules(supervisor.tenant),
        "donotcalllist": dnc_entry.dnc_list,
        "donotcallentry": dnc_entry,
        "campaign": campaign,
        "qualificationcode": QualificationCodeFactory(campaign=campaign),
        "contactlist": contact.contact_list,
        "campaigncontact": contact,
        "contactaddress": address,
        "callattempt": contact.attempts.create(tenant=supervisor.tenant, address=address),
        "savedfilter": SavedFilterFactory(user=supervisor, campaign=campaign),
        "columnchoice": ColumnChoice.objects.create(
            tenant=campaign.tenant, user=supervisor, campaign=campaign, columns=["state"]
        ),
        "dialertoken": DialerToken.issue(tenant=supervisor.tenant, name="Dialer")[0],
    }


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_lists_searches_and_opens_each_campaigns_model(admin_client, admin_rows, model):
    changelist = reverse(f"admin:campaigns_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist + "?q=a").status_code == 200
    change = reverse(f"admin:campaigns_{model}_change", args=[admin_rows[model].pk])
    assert admin_client.get(change).status_code == 200


def test_admin_issues_a_dialer_token_and_shows_it_once(admin_client, tenant_a):
    url = reverse("admin:campaigns_dialertoken_add")
    response = admin_client.post(url, {"tenant": tenant_a.pk, "name": "Dialer"}, follow=True)
    token = DialerToken.objects.get()
    shown = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    clear = shown[0].split("The token is ")[1].split(" ")[0]
    assert DialerToken.hash(clear) == token.digest and token.tenant == tenant_a


def test_admin_refuses_a_list_of_another_tenants_campaign(admin_client, tenant_a, outsider):
    foreign = CampaignFactory(tenant=outsider.tenant)
    url = reverse("admin:campaigns_contactlist_add")
    data = {"tenant": tenant_a.pk, "campaign": foreign.pk, "name": "Mixed", "state": "active"}
    response = admin_client.post(url, data)
    assert response.status_code == 200 and not ContactList.objects.exists()


def test_admin_refuses_calling_rules_it_could_not_read(admin_client, tenant_a):
    url = reverse("admin:campaigns_callingrules_add")
    data = {
        "tenant": tenant_a.pk,
        "name": "Broken",
        "windows": '{"mon": [["25:00", "26:00"]]}',
        "period_days": 30,
    }
    assert admin_client.post(url, data).status_code == 200
    assert not CallingRules.objects.exists()
