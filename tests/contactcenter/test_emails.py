"""The imports' quick email check gives Django's validate_email verdict, always."""

from __future__ import annotations

import random

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from contactcenter.emails import email_is_valid


def django_says(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    [
        "jean.dupont@example.fr",
        "Jean.Dupont+tag@Example.COM",
        "a@b.co",
        "x@localhost",
        "x@[127.0.0.1]",
        "x@[::1]",
        '"quoted name"@example.com',
        "élodie@exemple.fr",
        "jean@exemple-é.fr",
        "jean@xn--exemple-9ua.fr",
        ".jean@example.com",
        "jean.@example.com",
        "je..an@example.com",
        "jean@example",
        "jean@-example.com",
        "jean@example-.com",
        "jean@example.c",
        "jean@@example.com",
        "jean@",
        "@example.com",
        "jean example@example.com",
        "jean@exa mple.com",
        "a" * 310 + "@example.com",
        "a" * 64 + "@" + "b" * 63 + ".com",
        "jean@example.com\n",
        "",
    ],
)
def test_same_verdict_as_validate_email(value):
    assert email_is_valid(value) == django_says(value)


def test_same_verdict_on_random_strings():
    rng = random.Random(20261123)
    alphabet = 'ab.-_+@é"[]:1 x'
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        assert email_is_valid(value) == django_says(value), value
