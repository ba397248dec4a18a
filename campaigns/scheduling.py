"""When a campaign contact may be called: calling rules as data, and the arithmetic on them.

A `CallingRules` row holds weekly windows in the contact's OWN time zone, the public holidays
of a country (optionally a region) on which no one is called, and a cap of attempts over a
rolling period. The French rules (decree 2022-1313) are one such row, created per tenant by
`french_rules()`; a tenant can add rows of its own with other windows.

Reading of `windows`: `{"mon": [["10:00", "13:00"], ["14:00", "20:00"]], …}`; a weekday that is
missing or empty has no window, "24:00" ends a window at midnight, and an empty mapping means
"no time-of-day restriction" (holidays and the cap still apply).

The attempt cap: "after the maximum number of attempts in 30 days it is not scheduled again"
is read as the decree reads it, a rolling cap: once `max_attempts` attempts fall within the
last `period_days` days, the contact is not scheduled again *within that period*; its next
try is the first allowed time after the oldest of those attempts leaves the period. A contact
that must never be called again ends through the campaign's per-address `max_attempts`
(addresses Failed, then the contact Failed) or a final qualification.

A slot that cannot be computed (unknown time zone, rules without any window, malformed rules)
is `Slot(at=None, note=why)`: such a contact is never dialled, and the table says why.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.core.exceptions import ValidationError
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.models import CallingRules, CampaignContact
from contactcenter.models import Tenant

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FRENCH_RULES_NAME = "French rules (telemarketing)"
# Decree 2022-1313: weekdays 10:00–13:00 and 14:00–20:00, never on public holidays,
# at most 4 solicitations over 30 days.
FRENCH_RULES = {
    "windows": {
        **{day: [["10:00", "13:00"], ["14:00", "20:00"]] for day in DAYS[:5]},
        "sat": [],
        "sun": [],
    },
    "holidays_country": "FR",
    "holidays_subdivision": "",
    "max_attempts": 4,
    "period_days": 30,
}
# How far ahead a slot is looked for: a year and a week is past any holiday season.
HORIZON_DAYS = 372
WHOLE_DAY = ((0, 24 * 60),)


@dataclass(frozen=True)
class Slot:
    """The first allowed time (aware, UTC) at or after the asked one, and why it moved."""

    at: datetime | None
    note: str = ""


def french_rules(tenant: Tenant) -> CallingRules:
    """The tenant's preset of the French telemarketing rules, created on first use."""
    rules, _created = CallingRules.objects.get_or_create(
        tenant=tenant,
        name__iexact=FRENCH_RULES_NAME,
        defaults={"name": FRENCH_RULES_NAME, **FRENCH_RULES},
    )
    return rules


def next_slot(
    rules: CallingRules | None,
    tz_name: str,
    after: datetime,
    recent_attempts: Sequence[datetime] = (),
) -> Slot:
    """The first time at or after `after` when `rules` allow calling a contact living in
    `tz_name` who was attempted at `recent_attempts` (aware datetimes). When `after` is
    allowed as it is, the slot is `after` itself (in UTC) with an empty note."""
    if rules is None:
        return Slot(after.astimezone(UTC))
    try:
        zone = _zone(tz_name)
        windows = parse_windows(rules.windows)
        _holiday_names(rules.holidays_country, rules.holidays_subdivision, after.year)
    except ValueError as error:
        return Slot(None, str(error))
    start = after.astimezone(UTC)
    release = _cap_release(rules, zone, start, recent_attempts)
    at, holiday = _first_open(rules, windows, zone, max(start, release or start))
    if at is None:
        note = _("never scheduled: the calling rules “%(rules)s” have no calling window")
        return Slot(None, note % {"rules": rules.name})
    if release:
        return Slot(at, _cap_note(rules, at.astimezone(zone), tz_name))
    if at == start:
        return Slot(start)
    if holiday:
        return Slot(at, _("moved after a public holiday (%(holiday)s)") % {"holiday": holiday})
    note = _("moved to the next calling window (%(when)s, %(zone)s)")
    return Slot(at, note % _when(at, zone, tz_name))


def schedule(contact: CampaignContact, *, after: datetime | None = None) -> None:
    """Set the contact's next try to the first slot its campaign's rules allow at or after
    `after` (now by default), with the reason it moved. The caller saves."""
    after = after or timezone.now()
    rules = contact.campaign.calling_rules
    attempts: Iterable[datetime] = ()
    if rules is not None and rules.max_attempts and contact.pk:
        # A day more than the period: next_slot counts the period in local calendar days.
        since = after - timedelta(days=rules.period_days + 1)
        attempts = contact.attempts.filter(attempted_at__gt=since).values_list(
            "attempted_at", flat=True
        )
    slot = next_slot(rules, contact.time_zone, after, list(attempts))
    contact.next_try_at = slot.at
    contact.schedule_note = slot.note[:200]


def parse_windows(windows: object) -> dict[str, tuple[tuple[int, int], ...]]:
    """`CallingRules.windows` as minutes after local midnight per weekday; ValueError if malformed."""
    if not isinstance(windows, dict) or set(windows) - set(DAYS):
        raise ValueError(
            _("calling windows: use the weekdays %(days)s as keys") % {"days": ", ".join(DAYS)}
        )
    if not windows:
        return dict.fromkeys(DAYS, WHOLE_DAY)
    parsed = {}
    for day in DAYS:
        spans = []
        for span in windows.get(day) or []:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise ValueError(
                    _('calling windows: %(day)s needs pairs of times such as ["10:00", "13:00"]')
                    % {"day": day}
                )
            begin, end = (_minutes(value) for value in span)
            if begin >= end:
                raise ValueError(
                    _("calling windows: on %(day)s, %(begin)s is not before %(end)s")
                    % {"day": day, "begin": span[0], "end": span[1]}
                )
            spans.append((begin, end))
        parsed[day] = tuple(sorted(spans))
    return parsed


def validate_calling_rules(rules: CallingRules) -> None:
    """For forms and the admin: ValidationError if next_slot could not read these rules."""
    try:
        parse_windows(rules.windows)
        _holiday_names(rules.holidays_country, rules.holidays_subdivision, timezone.now().year)
    except ValueError as error:
        raise ValidationError(str(error)) from error


def _minutes(value: object) -> int:
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
    except ValueError:
        hours = minutes = -1
    if not (0 <= hours <= 23 and 0 <= minutes <= 59) and (hours, minutes) != (24, 0):
        raise ValueError(
            _("calling windows: “%(value)s” is not a time such as 09:30") % {"value": value}
        )
    return hours * 60 + minutes


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            _("not scheduled: unknown time zone “%(zone)s”") % {"zone": tz_name}
        ) from error


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """`minutes` after local midnight of `day` in `zone`, as UTC. A wall time in the hour
    skipped when clocks go forward reads with the offset before the change (fold=0)."""
    day += timedelta(days=minutes // (24 * 60))
    wall = time(minutes // 60 % 24, minutes % 60)
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _first_open(
    rules: CallingRules, windows: dict, zone: ZoneInfo, start: datetime
) -> tuple[datetime | None, str]:
    """The first instant ≥ start inside a window, and the last holiday that pushed it."""
    first_day = start.astimezone(zone).date()
    holiday = ""
    for offset in range(HORIZON_DAYS):
        day = first_day + timedelta(days=offset)
        spans = [
            (_instant(day, begin, zone), _instant(day, end, zone))
            for begin, end in windows[DAYS[day.weekday()]]
        ]
        spans = [(begin, end) for begin, end in spans if end > start]
        name = _holiday_names(rules.holidays_country, rules.holidays_subdivision, day.year).get(day)
        if name and spans:
            holiday = name
        elif spans:
            return max(spans[0][0], start), holiday
    return None, holiday


def _cap_release(
    rules: CallingRules, zone: ZoneInfo, at: datetime, attempts: Iterable[datetime]
) -> datetime | None:
    """When the cap stops applying: None if it does not apply at `at`, else the moment the
    oldest attempt that keeps the count at the cap leaves the period (in local calendar days,
    so that an attempt at 11:00 leaves at 11:00 whatever daylight saving did meanwhile)."""
    if not rules.max_attempts:
        return None
    period = timedelta(days=rules.period_days)
    leaves = sorted(
        (
            left
            for left in ((a.astimezone(zone) + period).astimezone(UTC) for a in attempts)
            if left > at
        ),
        reverse=True,
    )
    if len(leaves) < rules.max_attempts:
        return None
    return leaves[rules.max_attempts - 1]


def _cap_note(rules: CallingRules, local: datetime, tz_name: str) -> str:
    return ngettext(
        "attempt cap reached: %(count)d in %(days)d day, next possible on %(when)s (%(zone)s)",
        "attempt cap reached: %(count)d in %(days)d days, next possible on %(when)s (%(zone)s)",
        rules.period_days,
    ) % {
        "count": rules.max_attempts,
        "days": rules.period_days,
        **_when(local, local.tzinfo, tz_name),
    }


def _when(at: datetime, zone, tz_name: str) -> dict[str, str]:
    return {"when": formats.date_format(at.astimezone(zone), "D j F H:i"), "zone": tz_name}


def _holiday_names(country: str, subdivision: str, year: int) -> dict[date, str]:
    if not country:
        return {}
    return _holidays_of(country.upper(), subdivision, year, translation.get_language() or "")


@functools.lru_cache(maxsize=512)
def _holidays_of(country: str, subdivision: str, year: int, language: str) -> dict[date, str]:
    """Public holidays by date, named in the user's language when the package knows it."""
    known = holidays.utils.list_localized_countries().get(country, [])
    named_in = next((code for code in known if code.split("_")[0] == language.split("-")[0]), None)
    try:
        found = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language=named_in
        )
    except NotImplementedError as error:
        raise ValueError(
            _("public holidays: unknown country or region “%(code)s”")
            % {"code": f"{country} {subdivision}".strip()}
        ) from error
    return dict(found.items())
