import factory
from django.contrib.auth.models import Group

from addressbook.models import AddressBook, ExternalContact
from contactcenter.models import Job, Notification, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    tenant = factory.SubFactory(TenantFactory)
    password = factory.django.Password("Secret-pass-2026")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    requester = factory.SubFactory(UserFactory)
    tenant = factory.SelfAttribute("requester.tenant")
    kind = Job.Kind.IMPORT
    target = "addressbook.externalcontact"


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    tenant = factory.SelfAttribute("user.tenant")
    text = factory.Sequence(lambda n: f"Notification {n}")


class ExternalContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalContact

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Contact {n:05d}")


class AddressBookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddressBook

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Book {n}")
    sources = factory.LazyFunction(lambda: ["external_contacts"])
