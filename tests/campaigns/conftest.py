"""Fixtures of the campaigns tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    """The dialer's expired-claims search and the daily do-not-call refresh remember their last
    run in the cache; ids are reused between tests, so each test starts with it empty."""
    cache.clear()
    yield
    cache.clear()
