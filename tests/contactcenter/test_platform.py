"""Settings, roles, log-in, notifications feed, demo data."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse

from addressbook.models import ExternalContact
from contactcenter import settings as project_settings
from contactcenter.models import Notification, Tenant, User
from contactcenter.notifications import notify_job_finished
from contactcenter.roles import matrix_markdown
from tests.factories import JobFactory, NotificationFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", ["maybe", "2", "oui"])
def test_env_bool_refuses_unreadable_values(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        project_settings.env_bool("SOME_FLAG", False)


def test_env_int_refuses_unreadable_values(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "12k")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        project_settings.env_int("SOME_NUMBER", 1)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 20 + "production-like-secret-key-0123456789",
        ALLOWED_HOSTS="contacts.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_responses_carry_security_headers(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("dashboard"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_exist_with_the_matrix_permissions():
    admin, supervisor, agent = (
        Group.objects.get(name=n) for n in ("Administrator", "Supervisor", "Agent")
    )
    assert admin.permissions.filter(codename="view_all_jobs").exists()
    assert supervisor.permissions.filter(codename="import_externalcontact").exists()
    assert not agent.permissions.filter(codename="import_externalcontact").exists()
    assert agent.permissions.filter(codename="view_externalcontact").exists()


@pytest.mark.django_db
def test_readme_shows_the_role_matrix_as_the_code_declares_it():
    assert matrix_markdown() in (ROOT / "README.md").read_text()


# --- log-in -----------------------------------------------------------------------------------


def test_login_with_the_form_then_logout(client, supervisor):
    response = client.post(
        reverse("login"), {"username": supervisor.username, "password": "Secret-pass-2026"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_repeated_failed_logins_lock_the_account_out(client, supervisor, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": supervisor.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": supervisor.username, "password": "Secret-pass-2026"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_change(client, supervisor):
    client.force_login(supervisor)
    client.post(
        reverse("password_change"),
        {
            "old_password": "Secret-pass-2026",
            "new_password1": "Another-pass-2027",
            "new_password2": "Another-pass-2027",
        },
    )
    supervisor.refresh_from_db()
    assert supervisor.check_password("Another-pass-2027")


# --- notifications ----------------------------------------------------------------------------


def test_bell_counts_my_unread_notifications(supervisor, agent, client_for):
    NotificationFactory.create_batch(2, user=supervisor)
    NotificationFactory(user=supervisor, is_read=True)
    NotificationFactory(user=agent)
    response = client_for(supervisor).get(reverse("notification_bell"))
    assert response.context["unread_notifications"] == 2
    assert b'data-unread="2"' in response.content


def test_feed_lists_only_my_notifications(supervisor, agent, client_for):
    mine = NotificationFactory(user=supervisor)
    NotificationFactory(user=agent)
    listed = list(client_for(supervisor).get(reverse("notification_list")).context["notifications"])
    assert listed == [mine]


def test_opening_a_notification_marks_it_read_and_follows_its_link(supervisor, client_for):
    job = JobFactory(requester=supervisor)
    notification = NotificationFactory(user=supervisor, link=job.get_absolute_url())
    response = client_for(supervisor).post(
        reverse("notification_read", args=[notification.pk]), {"follow": "1"}
    )
    notification.refresh_from_db()
    assert notification.is_read and response["Location"] == job.get_absolute_url()


def test_a_foreign_link_is_not_followed(supervisor, client_for):
    notification = NotificationFactory(user=supervisor, link="https://evil.example.com/")
    response = client_for(supervisor).post(
        reverse("notification_read", args=[notification.pk]), {"follow": "1"}
    )
    assert response["Location"] == reverse("notification_list")


def test_final_job_status_tells_the_bell_to_refresh(supervisor, client_for):
    job = JobFactory(requester=supervisor, status="succeeded")
    response = client_for(supervisor).get(
        reverse("job_detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Trigger"] == "notifications-changed"
    assert b"hx-trigger" not in response.content


def test_running_job_status_keeps_polling(supervisor, client_for):
    job = JobFactory(requester=supervisor, status="running", total=10, processed=4)
    response = client_for(supervisor).get(
        reverse("job_detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert b'hx-trigger="every 1s"' in response.content and b"40" in response.content
    assert "HX-Trigger" not in response


# --- demo data --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Tenant.objects.filter(slug="demo").count() == 1
    roles = {u.username: u.role_names for u in User.objects.filter(tenant__slug="demo")}
    assert roles == {"admin": ["Administrator"], "supervisor": ["Supervisor"], "agent": ["Agent"]}
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_seed_demo_gives_contacts_with_numbers_in_e164_once():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    contacts = ExternalContact.objects.filter(tenant__slug="demo")
    assert contacts.count() == 4
    numbers = dict(contacts.values_list("name", "mobile_e164"))
    # One typed in the international form, one in the national form.
    assert (numbers["Dupont Marie"], numbers["Martin Paul"]) == ("+33612345678", "+33698765432")
    assert contacts.filter(other__contains="fixe").exists()


# --- languages --------------------------------------------------------------------------------


def test_pages_are_french_by_default_even_for_an_english_browser(supervisor, client_for):
    response = client_for(supervisor).get(
        reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"
    )
    assert b'lang="fr"' in response.content
    assert "Carnet d’adresses" in response.content.decode()


def test_switching_to_english_sticks(supervisor, client_for):
    client = client_for(supervisor)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("dashboard"))
    assert b'lang="en"' in response.content and b"Address book" in response.content


def test_job_notification_speaks_the_requesters_language(supervisor):
    job = JobFactory(
        requester=supervisor, status="partial", created=3, rejected=2, original_name="c.csv"
    )
    job.options = {"language": "fr"}
    assert "3" in notify_job_finished(job).text and "rejet" in notify_job_finished(job).text
    job.options = {"language": "en"}
    assert "3 created" in notify_job_finished(job).text


def test_embedded_broker_worker_resumes_jobs_left_running(supervisor, monkeypatch, settings):
    from contactcenter import celery as celery_module
    from contactcenter.tasks import run_job

    orphan, queued = (
        JobFactory(requester=supervisor, status="running"),
        JobFactory(requester=supervisor),
    )
    sent = []
    monkeypatch.setattr(run_job, "delay", sent.append)
    settings.CELERY_BROKER_URL = "filesystem://"
    celery_module.resume_orphaned_jobs()
    assert sent == [str(orphan.pk)]
    settings.CELERY_BROKER_URL = "redis://localhost:6379/0"
    celery_module.resume_orphaned_jobs()
    assert sent == [str(orphan.pk)] and queued.status == "queued"
