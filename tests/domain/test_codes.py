"""State code hints name only codes that are accepted; look-alike codes are found and told apart."""

from __future__ import annotations

import re

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concord.domain.codes import check_state_code, looks_alike, nearest_codes, suggest_state_codes

QUOTED_CODE = re.compile(r"'([A-Z][A-Z0-9]{1,15})'")


def hint_of(value: str) -> str:
    with pytest.raises(ValueError) as refused:
        check_state_code(value)
    return str(refused.value)


def codes_hinted(value: str) -> list[str]:
    """The codes a refusal of `value` advises, quoted after its first ';' or ':'."""
    try:
        check_state_code(value)
    except ValueError as refused:
        advice = re.split(r"[;:]", str(refused), maxsplit=1)[-1]
        return QUOTED_CODE.findall(advice)
    return []


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, the slow and obvious way, to check the fast one against."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


@pytest.mark.parametrize(("value", "hint"), [
    ("cl", "'cl' is not a state code; did you mean 'CHL' (Chile)?"),
    ("Panama", "'Panama' is not a state code; did you mean 'PAN' (Panama)?"),
    ("panama", "'panama' is not a state code; did you mean 'PAN' (Panama)?"),
    ("Bolivia", "'Bolivia' is not a state code; did you mean 'BOL' "
                "(Bolivia, Plurinational State of)?"),
    ("argentina", "'argentina' is not a state code; did you mean 'ARG' (Argentina)?"),
    ("chl", "'chl' is not a state code; did you mean 'CHL' (Chile)?"),
    ("Ar", "'Ar' is not a state code; did you mean 'ARG' (Argentina)?"),
    ("scg", "'scg' is not a state code; did you mean 'CSXX' (Serbia and Montenegro)?"),
    (" ARG", "' ARG' is not a state code; did you mean 'ARG' (Argentina)?"),
    ("Brasil", "'Brasil' is not a state code; did you mean 'BRA' (Brazil)?"),
    ("cote d'ivoire", "did you mean 'CIV' (Côte d'Ivoire)?"),
    ("xkx", "'xkx' is not a state code; did you mean 'XKX'?"),
    ("Xkx", "use an ISO 3166-1 alpha-3 code such as 'ARG'"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 16 else "")
def test_a_refused_state_code_suggests_the_code_meant(value: str, hint: str) -> None:
    assert hint in hint_of(value)


@pytest.mark.parametrize(("value", "code"), [
    ("AR", "ARG"), ("CL", "CHL"), ("SCG", "CSXX"), ("DDR", "DDDE"), ("DD", "DDDE"),
    ("SU", "SUHH"),
])
def test_an_alpha_2_or_withdrawn_code_points_at_the_code_to_use(value: str, code: str) -> None:
    assert codes_hinted(value) == [code]


@pytest.mark.parametrize("value", ["CS", "cs"])
def test_a_code_that_meant_two_states_names_both_and_neither_alone(value: str) -> None:
    hint = hint_of(value)
    assert codes_hinted(value) == ["CSHH", "CSXX"]
    assert "Czechoslovakia" in hint and "Serbia and Montenegro" in hint


def test_a_name_two_states_share_names_both() -> None:
    assert suggest_state_codes("Korea") == ["KOR", "PRK"]


@pytest.mark.parametrize("value", ["A R G", "1AB", "X", "", "!!", "Atlantis"])
def test_nothing_close_gives_the_general_advice_and_no_code(value: str) -> None:
    assert "use an ISO 3166-1 alpha-3 code such as 'ARG'" in hint_of(value)
    assert suggest_state_codes(value) == []


@pytest.mark.parametrize("code", ["ARG", "CHL", "ATF", "CSHH", "CSXX", "DDDE", "XKX", "ARGG"])
def test_accepted_codes_are_left_alone(code: str) -> None:
    assert check_state_code(code) == code
    assert suggest_state_codes(code) == []


CURRENT = list(pycountry.countries)
FORMER = list(pycountry.historic_countries)
NAMES = sorted({
    name
    for c in CURRENT
    for name in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None))
    if name
} | {f.name for f in FORMER})
ALPHA_2 = sorted({c.alpha_2 for c in CURRENT} | {f.alpha_2 for f in FORMER})
ALPHA_3 = sorted({c.alpha_3 for c in CURRENT} | {f.alpha_3 for f in FORMER})
EVERY_INPUT = (NAMES + ALPHA_2 + [a.lower() for a in ALPHA_2] + [a.lower() for a in ALPHA_3]
               + [f.alpha_4.lower() for f in FORMER] + [a.capitalize() for a in ALPHA_3])


def test_no_hint_over_every_iso_name_and_code_names_a_code_that_is_refused() -> None:
    hinted = 0
    for value in EVERY_INPUT:
        codes = codes_hinted(value)
        assert suggest_state_codes(value) == codes or not codes, value
        for code in codes:
            assert check_state_code(code) == code, (value, code)
        hinted += bool(codes)
    # Every one of them is refused with a hint: none falls through to the general advice.
    assert hinted == len(EVERY_INPUT)


def test_every_country_name_suggests_that_country_first() -> None:
    for c in CURRENT:
        for name in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)):
            if name:
                assert suggest_state_codes(name)[:1] == [c.alpha_3], name
        assert suggest_state_codes(c.alpha_2.lower()) == [c.alpha_3]
        assert suggest_state_codes(c.alpha_3.lower()) == [c.alpha_3]


def test_every_former_state_name_suggests_its_iso_3166_3_code() -> None:
    for f in FORMER:
        assert f.alpha_4 in suggest_state_codes(f.name), f.name
        assert f.alpha_4 in suggest_state_codes(f.alpha_3.lower()) or f.alpha_3 in {
            c.alpha_3 for c in CURRENT}, f.alpha_3


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30),
                 st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0-, ",
                         min_size=1, max_size=12)))
def test_no_hint_for_any_string_names_a_code_that_is_refused(value: str) -> None:
    for code in codes_hinted(value) + suggest_state_codes(value):
        assert check_state_code(code) == code


@pytest.mark.parametrize(("a", "b"), [
    ("relacopaz", "RELACOPAZ"), ("ALCONU-IV", "ALCONU-II"), ("ALCONU-II", "ALCONU-III"),
    ("RELACOPAZ", "RELACOPA"), ("RELACOPAZ", "XRELACOPAZ"), ("ARG", "ARG"), ("", "A"),
    ("relacopaz", "RELAC0PAZ"),
])
def test_codes_that_differ_in_case_or_one_character_look_alike(a: str, b: str) -> None:
    assert looks_alike(a, b) and looks_alike(b, a)


@pytest.mark.parametrize(("a", "b"), [
    ("ALCONU-III", "ALCONU-I"), ("RELACOPAZ", "RELCAOPAZ"), ("ARG", "BRA"), ("AB", "BA"),
    ("", "AB"), ("ALCONU-I", "ALCONU-IIX"),
])
def test_codes_two_edits_apart_do_not_look_alike(a: str, b: str) -> None:
    assert not looks_alike(a, b) and not looks_alike(b, a)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abAB-1", max_size=6), st.text(alphabet="abAB-1", max_size=6))
def test_looking_alike_is_being_at_most_one_edit_apart_ignoring_case(a: str, b: str) -> None:
    assert looks_alike(a, b) == (edit_distance(a.casefold(), b.casefold()) <= 1)


ON_RECORD = ["RELACOPAZ", "ALCONU-I", "ALCONU-II", "ALCONU-III", "DECL-2023", "OTHER"]


def test_the_nearest_code_is_the_same_code_in_another_case() -> None:
    assert nearest_codes("relacopaz", ON_RECORD)[0] == "RELACOPAZ"


def test_codes_one_edit_away_come_before_codes_that_are_merely_similar() -> None:
    assert nearest_codes("ALCONU-IV", ON_RECORD) == ["ALCONU-I", "ALCONU-II", "ALCONU-III"]
    assert nearest_codes("alconu-iii", ON_RECORD) == ["ALCONU-III", "ALCONU-II", "ALCONU-I"]


def test_an_exact_match_comes_before_its_other_case_and_duplicates_count_once() -> None:
    assert nearest_codes("Relacopaz", ["RELACOPAZ", "Relacopaz", "RELACOPAZ"]) == [
        "Relacopaz", "RELACOPAZ"]


def test_similar_codes_are_ranked_by_similarity_and_unrelated_ones_left_out() -> None:
    assert nearest_codes("RELACO", ON_RECORD) == ["RELACOPAZ"]
    assert nearest_codes("ZZZ", ON_RECORD) == []


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_no_more_codes_than_the_limit_are_offered(limit: int) -> None:
    assert nearest_codes("ALCONU", ON_RECORD, limit=limit) == ["ALCONU-I", "ALCONU-II"][:limit]


def test_no_candidates_means_no_nearest_codes() -> None:
    assert nearest_codes("RELACOPAZ", []) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abAB-1", max_size=6),
       st.lists(st.text(alphabet="abAB-1", min_size=1, max_size=6), max_size=8))
def test_every_look_alike_on_record_is_offered_before_any_other(
    code: str, candidates: list[str]
) -> None:
    nearest = nearest_codes(code, candidates, limit=len(candidates))
    alike = [looks_alike(code, c) for c in nearest]
    assert alike == sorted(alike, reverse=True)
    assert set(nearest) >= {c for c in candidates if looks_alike(code, c)}
    assert set(nearest) <= set(candidates)


def test_the_names_of_states_are_read_from_pycountry_once() -> None:
    from concord.domain import codes

    codes._iso_names.cache_clear()
    for code in ("ARG", "BRA", "CSHH", "XKX", "ARG"):
        codes.state_name(code)
        codes.iso_name(code)
    assert codes._iso_names.cache_info().misses == 1
    assert codes.state_name("ARG") == "Argentina" and codes.state_name("XKX") == "XKX"
