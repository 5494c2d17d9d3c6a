"""Identifiers and dates: entity codes, ISO 3166 state codes, full and reduced-precision dates."""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import lru_cache

import pycountry

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STATE_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PARTIAL_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def check_code(value: str) -> str:
    """An entity code (network, conference, declaration), or ValueError saying why not."""
    if not CODE_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid code: 1 to 64 characters, letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return value


def check_state_code(value: str) -> str:
    """A syntactically valid state code, or ValueError with a hint towards the right one."""
    if STATE_CODE_PATTERN.fullmatch(value):
        if len(value) == 2 and (country := pycountry.countries.get(alpha_2=value)):
            raise ValueError(
                f"{value!r} is an ISO 3166-1 alpha-2 code; states are keyed by alpha-3: "
                f"use {country.alpha_3!r} ({country.name})"
            )
        if (former := _former_by_alpha3().get(value)) and not is_current_iso(value):
            raise ValueError(
                f"{value!r} was the ISO 3166-1 code of {former[1]}, since withdrawn; "
                f"use its ISO 3166-3 code {former[0]!r}"
            )
        return value
    if STATE_CODE_PATTERN.fullmatch(value.upper()):
        raise ValueError(f"state codes are upper case: use {value.upper()!r}")
    raise ValueError(
        f"{value!r} is not a state code: use an ISO 3166-1 alpha-3 code such as 'ARG', "
        "an ISO 3166-3 code such as 'CSHH', or a code registered with StateRegistered"
    )


def is_current_iso(code: str) -> bool:
    """Whether `code` is a current ISO 3166-1 alpha-3 code."""
    return code in _current_alpha3()


def is_iso(code: str) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-3 or an ISO 3166-3 former-state code."""
    return code in _iso_names()


def iso_name(code: str) -> str | None:
    """The ISO short name of a current or former state, or None for codes outside ISO."""
    return _iso_names().get(code)


@lru_cache(maxsize=1)
def _iso_names() -> dict[str, str]:
    names: dict[str, str] = {c.alpha_3: c.name for c in pycountry.countries}
    for former in pycountry.historic_countries:
        names[former.alpha_4] = former.name
    return names


@lru_cache(maxsize=1)
def _current_alpha3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries)


@lru_cache(maxsize=1)
def _former_by_alpha3() -> dict[str, tuple[str, str]]:
    return {f.alpha_3: (f.alpha_4, f.name) for f in pycountry.historic_countries}


def check_iso_date(value: str) -> str:
    """A full ISO 8601 calendar date (YYYY-MM-DD), or ValueError."""
    if not _FULL_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the calendar") from None
    return value


def check_partial_date(value: str) -> str:
    """A date of year, month or day precision: '2025', '2025-10' or '2025-10-08'."""
    if not _PARTIAL_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD")
    year, _, rest = value.partition("-")
    month, _, day = rest.partition("-")
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{value!r} is not a day, month or year of the calendar") from None
    return value


def earliest_day(value: str) -> str:
    """The first day a reduced-precision date can mean ('2025' -> '2025-01-01')."""
    return {4: value + "-01-01", 7: value + "-01"}.get(len(value), value)


def latest_day(value: str) -> str:
    """The last day a reduced-precision date can mean ('2025-02' -> '2025-02-28')."""
    if len(value) == 4:
        return value + "-12-31"
    if len(value) == 7:
        year, month = int(value[:4]), int(value[5:])
        return f"{value}-{calendar.monthrange(year, month)[1]:02d}"
    return value
