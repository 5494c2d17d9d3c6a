"""Identifiers and dates: entity codes, ISO 3166 state codes, full and reduced-precision dates."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from difflib import SequenceMatcher, get_close_matches
from functools import lru_cache

import pycountry

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STATE_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PARTIAL_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_MAX_SUGGESTIONS = 3
_CLOSE_NAME = 0.8  # below this, a near spelling of a country's name is more often another one
_NAME_TIE = 0.03  # names this close to the best match are named with it: 'Nigeri' may be either
_CLOSE_CODE = 0.6


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
        if refusal := _refusal(value):
            raise ValueError(refusal)
        return value
    if found := _state_suggestions(value):
        raise ValueError(f"{value!r} is not a state code; did you mean {_either(found)}?")
    raise ValueError(
        f"{value!r} is not a state code: use an ISO 3166-1 alpha-3 code such as 'ARG', "
        "an ISO 3166-3 code such as 'CSHH', or a code registered with StateRegistered"
    )


def _refusal(code: str) -> str | None:
    # Why a well-formed code is still the wrong key for a state, or None if it is not.
    if len(code) == 2 and (country := pycountry.countries.get(alpha_2=code)):
        return (
            f"{code!r} is an ISO 3166-1 alpha-2 code; states are keyed by alpha-3: "
            f"use {country.alpha_3!r} ({country.name})"
        )
    if len(code) == 2 and (formers := _formers_by("alpha_2").get(code)):
        if len(formers) == 1:
            return (
                f"{code!r} was the ISO 3166-1 alpha-2 code of {formers[0][1]}, since withdrawn; "
                f"use its ISO 3166-3 code {formers[0][0]!r}"
            )
        return (
            f"{code!r} was the ISO 3166-1 alpha-2 code of {len(formers)} states, since "
            f"withdrawn; use the ISO 3166-3 code of the one you mean: {_either(formers)}"
        )
    if (formers := _formers_by("alpha_3").get(code)) and not is_current_iso(code):
        return (
            f"{code!r} was the ISO 3166-1 code of {formers[0][1]}, since withdrawn; "
            f"use its ISO 3166-3 code {formers[0][0]!r}"
        )
    return None


def _accepted(code: str) -> bool:
    return bool(STATE_CODE_PATTERN.fullmatch(code)) and _refusal(code) is None


def _either(found: Sequence[tuple[str, str | None]]) -> str:
    shown = [f"{code!r} ({name})" if name else repr(code) for code, name in found]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def suggest_state_codes(value: str) -> list[str]:
    """The accepted state codes a refused `value` most likely meant; none if nothing is close."""
    if STATE_CODE_PATTERN.fullmatch(value) and _refusal(value) is None:
        return []
    return [code for code, _ in _state_suggestions(value)]


def _state_suggestions(value: str) -> list[tuple[str, str | None]]:
    # Codes first, then names as ISO gives them, then near spellings of those names; every
    # candidate is checked again, so a hint never names a code that would itself be refused.
    text = value.strip()
    upper = text.upper() if text.isascii() else ""
    found = _by_code(upper) or _by_name(text) or _by_close_name(text)
    if not found and text == text.lower() and STATE_CODE_PATTERN.fullmatch(upper):
        found = [(upper, None)]  # a registered code typed in lower case, as 'xkx'
    return [(code, name) for code, name in found if _accepted(code)][:_MAX_SUGGESTIONS]


def _by_code(upper: str) -> list[tuple[str, str | None]]:
    if upper in _current_alpha3():
        return [(upper, iso_name(upper))]
    if len(upper) == 2 and (country := pycountry.countries.get(alpha_2=upper)):
        return [(country.alpha_3, country.name)]
    if upper in _iso_names():
        return [(upper, iso_name(upper))]
    return list(_formers_by("alpha_3").get(upper) or _formers_by("alpha_2").get(upper) or ())


def _by_name(text: str) -> list[tuple[str, str | None]]:
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        pass
    else:
        return [(country.alpha_3, country.name)]
    tiers = _names_index().get(_folded(text), {})
    return list(tiers[min(tiers)]) if tiers else []


def _by_close_name(text: str) -> list[tuple[str, str | None]]:
    folded = _folded(text)
    if len(folded) < 4 or len(folded) > 100:
        return []
    index = _names_index()
    scored = sorted(
        ((SequenceMatcher(None, folded, name).ratio(), name)
         for name in get_close_matches(folded, index, n=5, cutoff=_CLOSE_NAME)),
        reverse=True,
    )
    found: dict[str, str | None] = {}
    for ratio, name in scored:
        if ratio < scored[0][0] - _NAME_TIE:
            break
        tiers = index[name]
        found.update(dict(tiers[min(tiers)]))
    return list(found.items())


def _folded(text: str) -> str:
    # Case, accents and punctuation do not tell one country's name from another's.
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch)
    )
    return " ".join(re.findall(r"[a-z0-9]+", plain))


@lru_cache(maxsize=1)
def _names_index() -> dict[str, dict[int, tuple[tuple[str, str], ...]]]:
    # Folded name -> tier -> (code, name). Lower tiers win: a current state's full name, then
    # its name before a comma ('Bolivia'), then the same for former states.
    index: dict[str, dict[int, dict[str, str]]] = {}

    def add(tier: int, names: Iterable[str | None], code: str, name: str) -> None:
        for full in filter(None, names):
            for key, offset in ((full, 0), (full.partition(",")[0], 1)):
                tiers = index.setdefault(_folded(key), {})
                tiers.setdefault(tier + offset, {})[code] = name

    for c in pycountry.countries:
        names = (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None))
        add(0, names, c.alpha_3, c.name)
    for former in pycountry.historic_countries:
        add(2, (former.name,), former.alpha_4, former.name)
    index.pop("", None)
    return {
        key: {tier: tuple(codes.items()) for tier, codes in tiers.items()}
        for key, tiers in index.items()
    }


def is_current_iso(code: str) -> bool:
    """Whether `code` is a current ISO 3166-1 alpha-3 code."""
    return code in _current_alpha3()


def is_iso(code: str) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-3 or an ISO 3166-3 former-state code."""
    return code in _iso_names()


def iso_name(code: str) -> str | None:
    """The ISO short name of a current or former state, or None for codes outside ISO."""
    return _iso_names().get(code)


def state_name(code: str) -> str:
    """'Argentina' for 'ARG'; the code itself for codes outside ISO 3166."""
    return iso_name(code) or code


def state_codes() -> list[tuple[str, str]]:
    """Every ISO 3166 state, current (alpha-3) and former (ISO 3166-3), as (code, name)."""
    return list(_iso_names().items())


@lru_cache(maxsize=1)
def _iso_names() -> dict[str, str]:
    names: dict[str, str] = {c.alpha_3: c.name for c in pycountry.countries}
    for former in pycountry.historic_countries:
        names[former.alpha_4] = former.name
    return names


@lru_cache(maxsize=1)
def _current_alpha3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries)


@lru_cache(maxsize=2)
def _formers_by(attribute: str) -> dict[str, tuple[tuple[str, str], ...]]:
    # Former states by their withdrawn alpha-2 or alpha-3 code; 'CS' meant two of them.
    found: dict[str, list[tuple[str, str]]] = {}
    for former in pycountry.historic_countries:
        found.setdefault(getattr(former, attribute), []).append((former.alpha_4, former.name))
    return {code: tuple(states) for code, states in found.items()}


def looks_alike(a: str, b: str) -> bool:
    """Whether two codes differ only in case or by one inserted, deleted or changed character."""
    short, long = sorted((a.casefold(), b.casefold()), key=len)
    if len(long) - len(short) > 1:
        return False
    same = 0
    while same < len(short) and short[same] == long[same]:
        same += 1
    if len(short) == len(long):
        return short[same + 1:] == long[same + 1:]
    return short[same:] == long[same + 1:]


def nearest_codes(code: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to `code`: equal but for case, then one edit away, then similar."""
    folded = code.casefold()
    ranked: list[tuple[int, bool, float, str]] = []
    for candidate in dict.fromkeys(candidates):
        other = candidate.casefold()
        matcher = SequenceMatcher(None, folded, other)
        if other == folded:
            tier = 0
        elif looks_alike(folded, other):
            tier = 1
        elif (matcher.real_quick_ratio() >= _CLOSE_CODE and matcher.quick_ratio() >= _CLOSE_CODE
              and matcher.ratio() >= _CLOSE_CODE):
            tier = 2
        else:
            continue
        ranked.append((tier, candidate != code, -matcher.ratio(), candidate))
    return [candidate for *_, candidate in sorted(ranked)[:max(limit, 0)]]


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
