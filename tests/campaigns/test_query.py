"""The advanced filter language: what each variable selects, the errors that point at the bad
token, injection attempts, and that a tenant-scoped queryset never leaks another tenant's rows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns import query
from campaigns.models import CampaignContact, ContactAddress
from campaigns.query import QueryError, append, apply, clause
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
    QualificationCodeFactory,
)

pytestmark = pytest.mark.usefixtures("english")

PARIS = ZoneInfo("Europe/Paris")
State, AddressState = CampaignContact.State, ContactAddress.State


def _contact(contact_list, external_id: str, addresses=(), **fields) -> CampaignContact:
    contact = CampaignContactFactory(contact_list=contact_list, external_id=external_id, **fields)
    for position, (value, state, attempts) in enumerate(addresses):
        ContactAddressFactory(
            contact=contact, position=position, value=value, state=state, attempts=attempts
        )
    return contact


@pytest.fixture
def contacts(supervisor, agent, outsider):
    """Tenant A: A1, A2, B3 in one campaign; tenant B: a look-alike of A1 that must never show."""
    campaign = CampaignFactory(tenant=supervisor.tenant)
    spring = ContactListFactory(campaign=campaign, name="Spring")
    autumn = ContactListFactory(campaign=campaign, name="Autumn")
    sale = QualificationCodeFactory(campaign=campaign, code="SALE")
    _contact(
        spring, "A1", [("+33611111111", AddressState.SCHEDULED, 1)],
        priority=10, next_try_at=datetime(2026, 12, 1, 9, 30, tzinfo=PARIS),
        preferred_agent=agent, custom_fields={"region": "Nord"},
    )  # fmt: skip
    _contact(
        autumn, "A2",
        [("+33622222222", AddressState.BLOCKED, 3), ("ann@example.com", AddressState.WAITING, 0)],
        state=State.PAUSED, priority=200, top_priority=True, time_zone="America/Martinique",
        qualification=sale, manual_reschedules=2, custom_fields={"region": "Sud", "score": 5},
    )  # fmt: skip
    _contact(
        spring, "B3", [("+33633333333", AddressState.FAILED, 5)], state=State.DONE, priority=0,
        next_try_at=datetime(2026, 12, 2, 10, 0, tzinfo=PARIS), preferred_agent=supervisor,
    )  # fmt: skip
    foreign = ContactListFactory(campaign=CampaignFactory(tenant=outsider.tenant), name="Spring")
    _contact(
        foreign, "A1", [("+33611111111", AddressState.SCHEDULED, 9)], priority=10,
        preferred_agent=outsider, custom_fields={"region": "Nord"},
    )  # fmt: skip
    return CampaignContact.objects.for_tenant(supervisor.tenant)


def ids(queryset, expression: str) -> set[str]:
    return set(apply(queryset, expression).values_list("external_id", flat=True))


def error_of(expression: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        apply(CampaignContact.objects.all(), expression)
    return caught.value


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("", {"A1", "A2", "B3"}),
        ('id = "A1"', {"A1"}),
        ("id = 1234", set()),
        ('id startswith "a"', {"A1", "A2"}),
        ('id not endswith "3"', {"A1", "A2"}),
        ('state = "waiting"', {"A1"}),
        ('state = "Paused"', {"A2"}),
        ('state != "waiting"', {"A2", "B3"}),
        ('state in ("waiting", "done")', {"A1", "B3"}),
        ('state not in ("waiting")', {"A2", "B3"}),
        ("priority >= 10", {"A1", "A2"}),
        ("priority < 10", {"B3"}),
        ("priority in (0, 200)", {"A2", "B3"}),
        ("top_priority = True", {"A2"}),
        ("top_priority != true", {"A1", "B3"}),
        ('timezone = "America/Martinique"', {"A2"}),
        ('timezone ~ "europe"', {"A1", "B3"}),
        ('agent = "andy-agent"', {"A1"}),
        ('agent != "andy-agent"', {"A2", "B3"}),
        ("agent = None", {"A2"}),
        ("agent != None", {"A1", "B3"}),
        ('list = "Spring"', {"A1", "B3"}),
        ('qualification = "SALE"', {"A2"}),
        ("qualification = null", {"A1", "B3"}),
        ("reschedules > 0", {"A2"}),
    ],
)
def test_each_variable_selects_its_contacts(contacts, expression, expected):
    assert ids(contacts, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("next_try = None", {"A2"}),
        ("next_try != None", {"A1", "B3"}),
        ('next_try < "2026-12-01 10:00"', {"A1"}),
        ('next_try < "2026-12-01 09:30"', set()),
        ('next_try <= "2026-12-01 09:30"', {"A1"}),
        ('next_try = "2026-12-02"', {"B3"}),
        ('next_try > "2026-12-01"', {"B3"}),
        ('next_try >= "2026-12-01T09:30:00"', {"A1", "B3"}),
        ('next_try != "2026-12-01"', {"A2", "B3"}),
        ('created > "2000-01-01" and updated < "2999-01-01"', {"A1", "A2", "B3"}),
        # 02:30 does not exist in Paris that night (summer time starts): still a valid bound.
        ('next_try > "2026-03-29 02:30"', {"A1", "B3"}),
    ],
)
def test_dates_stand_for_their_whole_day_minute_or_second(contacts, expression, expected):
    assert ids(contacts, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('address = "ann@example.com"', {"A2"}),
        ('address ~ "+3362"', {"A2"}),
        ('address !~ "@"', {"A1", "B3"}),
        ('address in ("+33611111111", "+33633333333")', {"A1", "B3"}),
        ('address_state = "blocked"', {"A2"}),
        ('address_state != "scheduled"', {"A2", "B3"}),
        ('address_state in ("failed", "waiting")', {"A2", "B3"}),
        ("attempts >= 3", {"A2", "B3"}),
        ("attempts = 3", {"A2"}),
        ("attempts != 5", {"A1", "A2"}),
        ("attempts in (0, 1, 3)", {"A1", "A2"}),
        ('custom.region = "Nord"', {"A1"}),
        ('custom.region != "Nord"', {"A2", "B3"}),
        ("custom.region = None", {"B3"}),
        ('custom.score = "5"', {"A2"}),
        ('custom.region in ("Nord", "Sud")', {"A1", "A2"}),
        ('custom.region ~ "OR"', {"A1"}),
        ("custom.region != None", {"A1", "A2"}),
    ],
)
def test_addresses_attempts_and_custom_fields(contacts, expression, expected):
    assert ids(contacts, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # `and` binds tighter than `or` (djangoql alone would read it the other way round).
        ('state = "done" and priority > 100 or top_priority = True', {"A2"}),
        ('state = "done" and (priority > 100 or top_priority = True)', set()),
        ('top_priority = True or state = "done" and priority > 100', {"A2"}),
        ('((state = "waiting") or (list = "Autumn")) and priority >= 10', {"A1", "A2"}),
        ('state = "waiting" AND priority >= 10 OR id = "B3"', {"A1", "B3"}),
        ('state = "waiting"\nand priority >= 10', {"A1"}),
        ("id = 'A1' or id = \"A2\"", {"A1", "A2"}),
    ],
)
def test_and_binds_tighter_than_or_and_parentheses_group(contacts, expression, expected):
    assert ids(contacts, expression) == expected


def test_the_issue_example_reads(contacts):
    example = (
        'state = "waiting" and priority >= 10 and (timezone = "Europe/Paris" or agent = "jdoe")'
    )
    assert ids(contacts, example) == {"A1"}


@pytest.mark.parametrize(
    ("expression", "message", "position", "length"),
    [
        ('stat = "waiting"', "Unknown variable “stat” at column 1 — did you mean “state”?", 0, 4),
        (
            'state = "waiting" and priority = "high"',
            "“high” is not a number (priority) at column 34",
            33,
            6,
        ),
        ("priority >= high", "“high” is not a number (priority) at column 13", 12, 4),
        ("priority > 1.5", "“1.5” is not a whole number (priority) at column 12", 11, 3),
        (
            'state = "wating"',
            "“wating” is not a value of state at column 9 — did you mean “waiting”?",
            8,
            8,
        ),
        (
            "state = waiting",
            'Text goes in quotes: “waiting” (state) at column 9 — write "waiting"',
            8,
            7,
        ),
        (
            'priority ~ "1"',
            "“~” cannot be used with priority at column 10 — use one of: =, !=, >, >=, <, <=, in, not in",
            9,
            1,
        ),
        ("priority = None", "priority is never None at column 12", 11, 4),
        ("next_try > None", "None can only be compared with = or != at column 12", 11, 4),
        (
            'next_try < "tomorrow"',
            '“tomorrow” is not a date (next_try) at column 12 — write "2026-12-01" or "2026-12-01 10:00"',
            11,
            10,
        ),
        (
            'next_try = "2026-02-30"',
            '“2026-02-30” is not a date (next_try) at column 12 — write "2026-12-01" or "2026-12-01 10:00"',
            11,
            12,
        ),
        ("top_priority = yes", "“yes” is not True or False (top_priority) at column 16", 15, 3),
        (
            "priority > 40000",
            "40000 is out of range for priority (-32768 to 32767) at column 12",
            11,
            5,
        ),
    ],
)
def test_a_wrong_value_or_name_is_pointed_at(db, expression, message, position, length):
    error = error_of(expression)
    assert (error.message, error.position, error.length) == (message, position, length)
    assert expression[position : position + length]


@pytest.mark.parametrize(
    ("expression", "message", "position", "length"),
    [
        ('(state = "done"', "This “(” is never closed at column 1", 0, 1),
        ('state = "done")', "“)” closes nothing at column 15", 14, 1),
        (
            'state = "done" priority > 1',
            "Expected “and”, “or” or the end of the filter, not “priority” at column 16",
            15,
            8,
        ),
        ("state =", "The filter ends too early: expected a value after “=” at column 8", 7, 0),
        ('state == "done"', "One “=” is enough at column 8", 7, 1),
        ("state in ()", "The list is empty at column 10", 9, 2),
        (
            'state in "done"',
            'Expected a list in parentheses after “in”, not “"done"” at column 10 — e.g. ("a", "b")',
            9,
            6,
        ),
        ('state = "done', "This text has no closing quote at column 9", 8, 5),
        (
            'id = "x" && id = "y"',
            "Unexpected character “&” at column 10 — join clauses with “and” or “or”",
            9,
            1,
        ),
        (
            'priority = 1\n and stat = "x"',
            "Unknown variable “stat” at line 2, column 6 — did you mean “state”?",
            18,
            4,
        ),
        (
            'custom.a.b = "x"',
            "A custom field is written custom.<name>, with one dot at column 1",
            0,
            10,
        ),
    ],
)
def test_a_syntax_error_is_pointed_at(db, expression, message, position, length):
    error = error_of(expression)
    assert (error.message, error.position, error.length) == (message, position, length)


def test_an_unknown_name_with_no_close_match_lists_the_variables(db):
    message = error_of('zzz = "x"').message
    assert message.startswith("Unknown variable “zzz” at column 1 — the variables are id, state")
    assert "custom.<name>" in message


# --- injection attempts ------------------------------------------------------------------------

ATTACKS = [
    'state = "waiting"; DROP TABLE campaigns_campaigncontact; --',
    "state = 'waiting' OR 1=1",
    "id = \"x' OR '1'='1\"",
    'id = "\\" OR 1=1 --"',
    'id = "A1" -- comment',
    'id ~ "%"',
    'id ~ "_"',
    'state__startswith = "w"',
    'agent.password ~ "a"',
    'agent__password = "x"',
    "tenant = 2",
    "tenant_id != 0",
    "campaign = 1",
    'custom.__class__ = "x"',
    'custom.region__contains = "N"',
    '__import__("os").system("true")',
    "state.__class__.__mro__ = 1",
    'state = "\\u0000"',
    'state = "\\ud800"',
    'state = "waiting"\x00',
    "priority = 99999999999999999999999999",
    "(" * 500 + 'id = "A1"' + ")" * 500,
    'id = "A1" or ' * 60 + 'id = "A1"',
    "x" * 100_000,
    "id in (" + ", ".join(['"A1"'] * 300) + ")",
    "SELECT * FROM contactcenter_user",
    "1 = 1",
    "or",
    ")",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_injection_attempt_is_refused_or_matches_only_own_rows(contacts, attack):
    try:
        found = list(apply(contacts, attack).values_list("tenant_id", flat=True))
    except QueryError as error:
        assert error.message and 0 <= error.position <= len(attack)
    else:
        assert set(found) <= {contacts.first().tenant_id}


def test_quotes_in_a_value_are_data(contacts):
    assert ids(contacts, "id = \"A1' OR '1'='1\"") == set()
    assert ids(contacts, 'id ~ "%"') == set()
    # A custom field's name is a JSON key, never a lookup.
    assert ids(contacts, 'custom.region__startswith = "N"') == set()


# --- tenant isolation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        'id = "A1"',
        'agent = "oscar-outsider"',
        'list = "Spring"',
        "attempts >= 9",
        'address = "+33611111111"',
        'custom.region = "Nord"',
        'state = "waiting" or state != "waiting"',
        "next_try = None or next_try != None",
    ],
)
def test_a_tenant_scoped_queryset_never_returns_another_tenants_rows(contacts, expression):
    tenant = contacts.first().tenant
    assert all(c.tenant == tenant for c in apply(contacts, expression))


def test_the_outsiders_lookalike_is_found_only_in_their_own_scope(contacts, outsider):
    theirs = CampaignContact.objects.for_tenant(outsider.tenant)
    assert list(apply(theirs, 'id = "A1" and attempts >= 9').values_list("tenant", flat=True)) == [
        outsider.tenant.pk
    ]
    assert ids(contacts, "attempts >= 9") == set()


# --- building clauses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("agent", "=", 'j"d\\oe', 'agent = "j\\"d\\\\oe"'),
        ("state", "in", "waiting, Paused", 'state in ("waiting", "paused")'),
        ("state", "=", "Done", 'state = "done"'),
        ("priority", ">=", " 10 ", "priority >= 10"),
        ("priority", "not in", "1,2", "priority not in (1, 2)"),
        ("top_priority", "=", "yes", "top_priority = True"),
        ("next_try", "=", "", "next_try = None"),
        ("next_try", "<", "2026-12-01 10:00", 'next_try < "2026-12-01 10:00"'),
        ("id", "~", "A1", 'id ~ "A1"'),
    ],
)
def test_clause_writes_a_correctly_quoted_clause(db, field, operator, value, expected):
    assert clause(field, operator, value) == expected
    assert query.parse(expected) is not None


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        ("priority", "=", "high", "“high” is not a number (priority)"),
        ("stat", "=", "x", "Unknown variable “stat” — did you mean “state”?"),
        ("state", "~", "x", "“~” cannot be used with state — use one of: =, !=, in, not in"),
        ("state", "; drop", "x", "Unknown operator “; drop”"),
        ("state", "in", " , ", "The list is empty"),
    ],
)
def test_clause_refuses_what_does_not_fit(db, field, operator, value, message):
    with pytest.raises(QueryError) as caught:
        clause(field, operator, value)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("expression", "join", "expected"),
    [
        ("", "and", "priority > 1"),
        ('state = "done" or id = "A1"', "and", '(state = "done" or id = "A1") and priority > 1'),
        ('state = "done" and id = "A1"', "or", 'state = "done" and id = "A1" or priority > 1'),
        ('state = "done" or id = "A1"', "or", 'state = "done" or id = "A1" or priority > 1'),
    ],
)
def test_append_keeps_the_meaning_of_the_expression(db, expression, join, expected):
    assert append(expression, "priority > 1", join) == expected


def test_fields_document_every_variable():
    names = [field.name for field in query.FIELDS]
    required = ["id", "state", "priority", "top_priority", "next_try", "timezone", "agent"]
    required += ["list", "qualification", "reschedules", "updated", "created", "address"]
    assert [*required, "address_state", "attempts", "custom.<name>"] == names
    assert all(str(field.type) and str(field.description) for field in query.FIELDS)
