"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The browser is never downloaded: Playwright launches /usr/bin/chromium. Without it the browser
tests are skipped, unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

PASSWORD = "Secret-pass-2026"  # UserFactory's default
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests."
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API runs an event loop in the test thread, so Django would take
        # every ORM call the test makes (factories, assertions) for one made from async code
        # and refuse it. Only while Playwright runs: set for the whole session, the variable
        # would reach every subprocess, and `manage.py check --deploy` rightly warns about it.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies) whose language is neither French nor English,
    so that the site's own default decides."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page, live_server):
    """log_in(user) → `page`, signed in through the login form, then in English (EN button).

    The site itself is French by default: the page is French before and after signing in.
    """

    def sign_in(user):
        from playwright.sync_api import expect

        page.goto(live_server.url + reverse("login"))
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.locator("#id_username").fill(user.username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#id_password").press("Enter")
        expect(page).to_have_url(live_server.url + reverse("dashboard"))
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.locator("nav form button[name=language][value=en]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        return page

    return sign_in


@pytest.fixture
def upload(page, live_server):
    """upload(content, name) → from the address book, "Import" the file and send it."""

    def send(content: bytes, name: str = "people.csv"):
        page.goto(live_server.url + reverse("addressbook:contact_list"))
        page.get_by_role("link", name="Import", exact=True).click()
        page.locator("input[type=file]").set_input_files(
            files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
        )
        page.get_by_role("button", name="Upload and import").click()

    return send
