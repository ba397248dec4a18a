"""Factories for the campaigns app (factory_boy); shared by its tests."""

import factory

from campaigns.models import (
    Campaign,
    CampaignContact,
    ContactAddress,
    ContactList,
    DoNotCallEntry,
    DoNotCallList,
    QualificationCode,
    SavedFilter,
)
from tests.factories import TenantFactory, UserFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    state = Campaign.State.RUNNING


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList

    campaign = factory.SubFactory(CampaignFactory)
    tenant = factory.SelfAttribute("campaign.tenant")
    name = factory.Sequence(lambda n: f"List {n}")


class CampaignContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignContact

    contact_list = factory.SubFactory(ContactListFactory)
    campaign = factory.SelfAttribute("contact_list.campaign")
    tenant = factory.SelfAttribute("contact_list.tenant")
    external_id = factory.Sequence(lambda n: f"C{n:06d}")
    in_processing = True


class ContactAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactAddress

    contact = factory.SubFactory(CampaignContactFactory)
    tenant = factory.SelfAttribute("contact.tenant")
    position = factory.Sequence(lambda n: n)
    value = factory.Sequence(lambda n: f"+3361{n:07d}")
    kind = ContactAddress.Kind.MOBILE
    state = ContactAddress.State.SCHEDULED


class QualificationCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualificationCode

    campaign = factory.SubFactory(CampaignFactory)
    tenant = factory.SelfAttribute("campaign.tenant")
    code = factory.Sequence(lambda n: f"Q{n}")
    label = factory.LazyAttribute(lambda q: q.code.title())


class SavedFilterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedFilter

    user = factory.SubFactory(UserFactory)
    campaign = factory.SubFactory(CampaignFactory, tenant=factory.SelfAttribute("..user.tenant"))
    tenant = factory.SelfAttribute("user.tenant")
    name = factory.Sequence(lambda n: f"Filter {n}")
    expression = 'state = "waiting"'


class DoNotCallListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoNotCallList

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Do not call {n}")


class DoNotCallEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoNotCallEntry

    dnc_list = factory.SubFactory(DoNotCallListFactory)
    tenant = factory.SelfAttribute("dnc_list.tenant")
    value = factory.Sequence(lambda n: f"+3361{n:07d}")
