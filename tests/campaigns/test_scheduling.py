"""The calling-window arithmetic: weekly windows in the contact's own time zone, public
holidays, daylight-saving changes and the rolling attempt cap (campaigns/scheduling.py)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import CallAttempt, CallingRules
from campaigns.scheduling import (
    FRENCH_RULES,
    FRENCH_RULES_NAME,
    french_rules,
    next_slot,
    schedule,
    validate_calling_rules,
)
from tests.campaigns.factories import CampaignContactFactory

PARIS = "Europe/Paris"


def local(tz_name: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz_name))


def paris(*args: int) -> datetime:
    return local(PARIS, *args)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rules(**changes) -> CallingRules:
    """The French rules, unsaved, with `changes`: next_slot needs no database."""
    return CallingRules(name=FRENCH_RULES_NAME, **{**FRENCH_RULES, **changes})


FRENCH = rules()


# --- weekly windows ------------------------------------------------------------------------------


def test_a_time_inside_a_window_is_kept_without_a_note():
    after = paris(2025, 6, 10, 11, 15)
    slot = next_slot(FRENCH, PARIS, after)
    assert slot.at == after and slot.at.tzinfo == UTC and slot.note == ""


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (paris(2025, 6, 10, 8, 0), paris(2025, 6, 10, 10, 0)),  # before opening
        (paris(2025, 6, 10, 13, 0), paris(2025, 6, 10, 14, 0)),  # the lunch gap opens at 13:00
        (paris(2025, 6, 10, 13, 59), paris(2025, 6, 10, 14, 0)),
        (paris(2025, 6, 10, 20, 0), paris(2025, 6, 11, 10, 0)),  # a window's end is excluded
        (paris(2025, 6, 13, 20, 30), paris(2025, 6, 16, 10, 0)),  # Friday evening → Monday
        (paris(2025, 6, 14, 11, 0), paris(2025, 6, 16, 10, 0)),  # Saturday → Monday
        (paris(2025, 6, 15, 23, 59), paris(2025, 6, 16, 10, 0)),  # Sunday night → Monday
    ],
)
def test_a_closed_time_moves_to_the_next_window(after, expected):
    assert next_slot(FRENCH, PARIS, after).at == expected


def test_the_note_says_which_window_in_the_contacts_zone(english):
    slot = next_slot(FRENCH, PARIS, paris(2025, 6, 13, 20, 30))
    assert slot.note == "moved to the next calling window (Mon 16 June 10:00, Europe/Paris)"


def test_without_rules_any_time_is_allowed():
    sunday_night = paris(2025, 6, 15, 3, 0)
    assert next_slot(None, PARIS, sunday_night).at == sunday_night


# --- public holidays -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holiday", "name", "next_working_day"),
    [
        (paris(2025, 4, 21, 11, 0), "Easter Monday", paris(2025, 4, 22, 10, 0)),
        (paris(2025, 5, 29, 11, 0), "Ascension Day", paris(2025, 5, 30, 10, 0)),
        (paris(2025, 6, 9, 11, 0), "Pentecost Monday", paris(2025, 6, 10, 10, 0)),
        (paris(2026, 4, 6, 11, 0), "Easter Monday", paris(2026, 4, 7, 10, 0)),
        (paris(2026, 5, 14, 11, 0), "Ascension Day", paris(2026, 5, 15, 10, 0)),
        (paris(2026, 5, 25, 11, 0), "Pentecost Monday", paris(2026, 5, 26, 10, 0)),
        (paris(2025, 7, 14, 11, 0), "National Day", paris(2025, 7, 15, 10, 0)),
    ],
)
def test_no_call_on_a_french_public_holiday(english, holiday, name, next_working_day):
    slot = next_slot(FRENCH, PARIS, holiday)
    assert slot.at == next_working_day
    assert slot.note == f"moved after a public holiday ({name})"


def test_the_easter_weekend_moves_friday_evening_to_tuesday(english):
    slot = next_slot(FRENCH, PARIS, paris(2025, 4, 18, 20, 30))
    assert slot.at == paris(2025, 4, 22, 10, 0)
    assert "Easter Monday" in slot.note


def test_holiday_names_follow_the_users_language():
    # French is the default language.
    assert next_slot(FRENCH, PARIS, paris(2025, 6, 9, 11, 0)).note.endswith("(Lundi de Pentecôte)")


def test_good_friday_is_a_working_day_in_france_but_not_in_moselle():
    good_friday = paris(2025, 4, 18, 10, 30)
    assert next_slot(FRENCH, PARIS, good_friday).at == good_friday
    moselle = rules(holidays_subdivision="57")
    assert next_slot(moselle, PARIS, good_friday).at == paris(2025, 4, 22, 10, 0)


def test_saint_stephens_day_is_a_holiday_in_alsace():
    alsace = rules(holidays_subdivision="6AE")
    assert next_slot(alsace, PARIS, paris(2025, 12, 26, 11, 0)).at == paris(2025, 12, 29, 10, 0)
    assert next_slot(FRENCH, PARIS, paris(2025, 12, 26, 11, 0)).at == paris(2025, 12, 26, 11, 0)


# --- the contact's own time zone -----------------------------------------------------------------


def test_martinique_is_called_on_its_own_clock():
    # 14:00 in Paris (open) is 08:00 in Martinique (closed).
    after = utc(2025, 6, 10, 12, 0)
    assert next_slot(FRENCH, PARIS, after).at == after
    assert next_slot(FRENCH, "America/Martinique", after).at == utc(2025, 6, 10, 14, 0)


def test_noumea_is_open_while_paris_sleeps():
    after = utc(2025, 6, 10, 0, 30)  # 11:30 in Nouméa, 02:30 in Paris
    assert next_slot(FRENCH, "Pacific/Noumea", after).at == after
    assert next_slot(FRENCH, PARIS, after).at == paris(2025, 6, 10, 10, 0)


def test_a_holiday_is_the_contacts_local_date():
    # Monday 14 July 10:30 in Nouméa is still Sunday 13 July in UTC.
    after = local("Pacific/Noumea", 2025, 7, 14, 10, 30)
    expected = local("Pacific/Noumea", 2025, 7, 15, 10, 0)
    assert next_slot(FRENCH, "Pacific/Noumea", after).at == expected == utc(2025, 7, 14, 23, 0)


def test_london_opens_an_hour_after_paris():
    after = utc(2025, 6, 10, 8, 30)  # 10:30 in Paris, 09:30 in London (summer time)
    assert next_slot(FRENCH, PARIS, after).at == after
    assert next_slot(FRENCH, "Europe/London", after).at == utc(2025, 6, 10, 9, 0)


# --- daylight saving -----------------------------------------------------------------------------


def test_the_monday_after_clocks_go_forward_opens_at_ten_local():
    # Sunday 30 March 2025: 02:00 CET → 03:00 CEST.
    slot = next_slot(FRENCH, PARIS, paris(2025, 3, 28, 20, 30))
    assert slot.at == paris(2025, 3, 31, 10, 0) == utc(2025, 3, 31, 8, 0)
    assert next_slot(FRENCH, PARIS, paris(2025, 3, 28, 9, 0)).at == utc(2025, 3, 28, 9, 0)


def test_the_monday_after_clocks_go_back_opens_at_ten_local():
    # Sunday 26 October 2025: 03:00 CEST → 02:00 CET.
    slot = next_slot(FRENCH, PARIS, paris(2025, 10, 24, 20, 30))
    assert slot.at == paris(2025, 10, 27, 10, 0) == utc(2025, 10, 27, 9, 0)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2025, 3, 29, 23, 0), utc(2025, 3, 30, 7, 0)),  # 09:00 CEST
        (utc(2025, 3, 22, 23, 0), utc(2025, 3, 23, 8, 0)),  # a week before: 09:00 CET
        (utc(2025, 10, 25, 22, 30), utc(2025, 10, 26, 8, 0)),  # 09:00 CET
        (utc(2025, 10, 18, 22, 30), utc(2025, 10, 19, 7, 0)),  # a week before: 09:00 CEST
    ],
)
def test_a_sunday_window_on_the_day_of_the_change_is_local_time(after, expected):
    sundays = rules(windows={"sun": [["09:00", "12:00"]]}, holidays_country="")
    assert next_slot(sundays, PARIS, after).at == expected


def test_a_window_ends_on_the_local_clock_on_the_long_night():
    night = rules(windows={"sun": [["00:00", "03:00"]]}, holidays_country="")
    # 02:30 CET, after the clocks went back, is still before 03:00 local.
    assert next_slot(night, PARIS, utc(2025, 10, 26, 1, 30)).at == utc(2025, 10, 26, 1, 30)
    assert next_slot(night, PARIS, utc(2025, 10, 26, 2, 0)).at == utc(2025, 11, 1, 23, 0)


# --- the attempt cap -----------------------------------------------------------------------------


def attempts_on(*days: int, month: int = 6, hour: int = 11) -> list[datetime]:
    return [paris(2025, month, day, hour, 0) for day in days]


def test_three_attempts_in_thirty_days_do_not_hold_the_contact_back():
    after = paris(2025, 6, 11, 11, 0)
    assert next_slot(FRENCH, PARIS, after, attempts_on(2, 4, 10)).at == after


def test_the_fourth_attempt_holds_the_contact_until_the_oldest_leaves_the_period(english):
    slot = next_slot(FRENCH, PARIS, paris(2025, 6, 11, 11, 0), attempts_on(2, 4, 6, 10))
    assert slot.at == paris(2025, 7, 2, 11, 0)
    assert slot.note == (
        "attempt cap reached: 4 in 30 days, next possible on Wed 2 July 11:00 (Europe/Paris)"
    )


def test_the_cap_release_is_moved_into_a_calling_window():
    # The oldest attempt leaves on Sunday 6 July at 19:30.
    tried = [paris(2025, 6, 6, 19, 30), *attempts_on(10, 11, 12)]
    slot = next_slot(FRENCH, PARIS, paris(2025, 6, 12, 12, 0), tried)
    assert slot.at == paris(2025, 7, 7, 10, 0)


def test_attempts_older_than_the_period_do_not_count():
    after = paris(2025, 6, 11, 11, 0)
    assert next_slot(FRENCH, PARIS, after, attempts_on(2, 4, 6, 10, month=5)).at == after


def test_the_period_counts_local_calendar_days_across_a_clock_change():
    # 11:00 CET on 10 March leaves the period at 11:00 CEST on 9 April.
    tried = [paris(2025, 3, 10, 11, 0), *attempts_on(11, 12, 13, month=3)]
    assert next_slot(FRENCH, PARIS, paris(2025, 4, 2, 11, 0), tried).at == utc(2025, 4, 9, 9, 0)


def test_rules_without_a_cap_ignore_attempts():
    after = paris(2025, 6, 11, 11, 0)
    uncapped = rules(max_attempts=None)
    assert next_slot(uncapped, PARIS, after, attempts_on(2, 3, 4, 5, 6, 10)).at == after


# --- a tenant's own rules, and rules that cannot be read -----------------------------------------


def test_a_tenants_own_rules_open_on_saturday_mornings(tenant_a):
    mornings = CallingRules.objects.create(
        tenant=tenant_a, name="Saturday mornings", windows={"sat": [["09:00", "12:00"]]}
    )
    assert next_slot(mornings, PARIS, paris(2025, 6, 13, 11, 0)).at == paris(2025, 6, 14, 9, 0)
    assert next_slot(mornings, PARIS, paris(2025, 6, 14, 12, 0)).at == paris(2025, 6, 21, 9, 0)


def test_no_windows_at_all_means_any_hour_but_not_holidays():
    anytime = rules(windows={})
    assert next_slot(anytime, PARIS, paris(2025, 6, 15, 3, 0)).at == paris(2025, 6, 15, 3, 0)
    assert next_slot(anytime, PARIS, paris(2025, 6, 9, 3, 0)).at == paris(2025, 6, 10, 0, 0)


def test_rules_without_any_window_never_schedule(english):
    closed = rules(windows={"mon": []})
    slot = next_slot(closed, PARIS, paris(2025, 6, 10, 11, 0))
    assert slot.at is None and "no calling window" in slot.note


def test_an_unknown_time_zone_is_never_scheduled(english):
    slot = next_slot(FRENCH, "Mars/Olympus_Mons", paris(2025, 6, 10, 11, 0))
    assert slot.at is None and slot.note == "not scheduled: unknown time zone “Mars/Olympus_Mons”"


@pytest.mark.parametrize(
    "changes",
    [
        {"windows": {"monday": [["10:00", "12:00"]]}},
        {"windows": {"mon": [["10:00"]]}},
        {"windows": {"mon": [["14:00", "10:00"]]}},
        {"windows": {"mon": [["10h", "12:00"]]}},
        {"windows": {"mon": [["10:00", "24:30"]]}},
        {"windows": ["mon"]},
        {"holidays_country": "XX"},
        {"holidays_subdivision": "Atlantis"},
    ],
)
def test_malformed_rules_are_refused_and_never_schedule(changes):
    bad = rules(**changes)
    with pytest.raises(ValidationError):
        validate_calling_rules(bad)
    assert next_slot(bad, PARIS, paris(2025, 6, 10, 11, 0)).at is None


def test_the_french_preset_is_valid_and_ends_at_midnight_with_24_00():
    validate_calling_rules(FRENCH)
    late = rules(windows={"tue": [["20:00", "24:00"]]})
    assert next_slot(late, PARIS, paris(2025, 6, 10, 23, 59)).at == paris(2025, 6, 10, 23, 59)
    assert next_slot(late, PARIS, paris(2025, 6, 11, 0, 0)).at == paris(2025, 6, 17, 20, 0)


# --- the French preset and schedule() ------------------------------------------------------------


def test_french_rules_are_created_once_per_tenant(tenant_a, tenant_b):
    first = french_rules(tenant_a)
    assert french_rules(tenant_a) == first and french_rules(tenant_b) != first
    assert (first.holidays_country, first.max_attempts, first.period_days) == ("FR", 4, 30)
    assert first.windows["mon"] == [["10:00", "13:00"], ["14:00", "20:00"]]
    assert first.windows["sat"] == first.windows["sun"] == []


def test_french_rules_keep_a_tenants_changes(tenant_a):
    french_rules(tenant_a)
    CallingRules.objects.filter(tenant=tenant_a).update(max_attempts=3)
    assert french_rules(tenant_a).max_attempts == 3
    assert CallingRules.objects.filter(tenant=tenant_a).count() == 1


def test_schedule_uses_the_campaigns_rules_the_contacts_zone_and_its_attempts(tenant_a, english):
    contact = CampaignContactFactory(
        tenant=tenant_a, contact_list__campaign__tenant=tenant_a, time_zone="America/Martinique"
    )
    contact.campaign.calling_rules = french_rules(tenant_a)
    for attempted_at in attempts_on(2, 4, 6, 10, hour=17):
        CallAttempt.objects.create(tenant=tenant_a, contact=contact, attempted_at=attempted_at)
    schedule(contact, after=paris(2025, 6, 11, 17, 0))
    assert contact.next_try_at == paris(2025, 7, 2, 17, 0)  # 11:00 in Martinique
    assert contact.schedule_note.startswith("attempt cap reached: 4 in 30 days")
    contact.refresh_from_db()
    assert contact.next_try_at is None, "schedule() leaves saving to the caller"


def test_schedule_without_rules_keeps_the_asked_time(tenant_a):
    contact = CampaignContactFactory(tenant=tenant_a, contact_list__campaign__tenant=tenant_a)
    after = paris(2025, 6, 15, 3, 0)
    schedule(contact, after=after)
    assert (contact.next_try_at, contact.schedule_note) == (after, "")


def test_schedule_defaults_to_now(tenant_a):
    contact = CampaignContactFactory(tenant=tenant_a, contact_list__campaign__tenant=tenant_a)
    schedule(contact)
    assert abs(contact.next_try_at - datetime.now(UTC)) < timedelta(seconds=5)
