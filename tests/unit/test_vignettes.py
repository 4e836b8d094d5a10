"""`netaid.vignettes`: coherent profiles by default, sites as the documents weight them, and
constraints that pin absent sets and false flags."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest

from netaid import Case, Engine, Rulebook, discuss, load_rulebook, make_engine
from netaid.case import Site
from netaid.cli import main
from netaid.vignettes import (
    COHERENCE_PREFIXES,
    SITE_WEIGHTS,
    VignetteError,
    draw_cases,
    incoherence_notes,
)
from tests.conftest import CORPUS, FIXTURES

COHERENCE_RULES = FIXTURES / "coherence"
AS_OF = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def coherence_rulebook() -> Rulebook:
    """A rulebook with `note.coherence.` and `note.flag.` notes (see its rules.yaml)."""
    return load_rulebook(COHERENCE_RULES)


def flagged_notes(ids: object) -> list[str]:
    assert isinstance(ids, list | tuple | frozenset)
    return sorted(i for i in ids if str(i).startswith(COHERENCE_PREFIXES))


# --- incoherence_notes ---


def test_vignettes_and_check_agree_on_what_a_coherence_note_is() -> None:
    from netaid import check

    assert COHERENCE_PREFIXES == check.COHERENCE_PREFIXES


def test_incoherence_notes_name_the_coherence_notes_that_hold(
    coherence_rulebook: Rulebook,
) -> None:
    lung_insulinoma = Case(site=Site.LUNG, syndromes={"insulinoma"}, symptomatic=False)
    assert incoherence_notes(lung_insulinoma, coherence_rulebook) == (
        "note.coherence.fixture_insulinoma_site",
        "note.coherence.fixture_syndrome_without_symptoms",
    )
    assert (
        incoherence_notes(Case(site=Site.PANCREAS, syndromes={"insulinoma"}), coherence_rulebook)
        == ()
    )
    poorly_g1 = Case(site=Site.LUNG, differentiation="poorly", grade="G1")
    assert incoherence_notes(poorly_g1, coherence_rulebook) == ("note.flag.poorly_low_grade",)


def test_a_gap_note_does_not_make_a_profile_incoherent(coherence_rulebook: Rulebook) -> None:
    case = Case(site=Site.UNKNOWN)
    with make_engine(coherence_rulebook) as engine:
        assert "note.gap.fixture_unknown_site" in engine.fired_ids(case)
        # An engine is taken as well as a rulebook: its rulebook is asked.
        assert incoherence_notes(case, engine) == ()


def test_incoherence_notes_use_the_shipped_rulebook_by_default(rulebook: Rulebook) -> None:
    case = Case(site=Site.LUNG, differentiation="poorly", grade="G2")
    assert "note.flag.poorly_differentiated_low_grade" in incoherence_notes(case)
    assert incoherence_notes(case) == incoherence_notes(case, rulebook)
    assert incoherence_notes(Case(site=Site.LUNG)) == ()


# --- coherent by default ---


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_drawn_cases_are_coherent_for_the_fixture_rulebook(
    coherence_rulebook: Rulebook, seed: int
) -> None:
    cases = draw_cases(200, seed=seed, rules=coherence_rulebook)
    with make_engine(coherence_rulebook) as engine:
        for case in cases:
            assert incoherence_notes(case, coherence_rulebook) == ()
            notes = [n.id for n in discuss(case, engine=engine, today=AS_OF).notes]
            assert flagged_notes(notes) == [], case


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drawn_cases_are_coherent_for_the_shipped_rulebook(engine: Engine, seed: int) -> None:
    for case in draw_cases(200, seed=seed):
        notes = [n.id for n in discuss(case, engine=engine, today=AS_OF).notes]
        assert flagged_notes(notes) == [], case


def test_flagged_profiles_are_drawn_only_on_request(coherence_rulebook: Rulebook) -> None:
    anything = draw_cases(200, seed=1, rules=coherence_rulebook, coherent=False)
    fired = Counter(n for c in anything for n in incoherence_notes(c, coherence_rulebook))
    # Every kind of flagged profile turns up when asked for...
    assert set(fired) == {
        "note.coherence.fixture_insulinoma_site",
        "note.coherence.fixture_syndrome_without_symptoms",
        "note.flag.poorly_low_grade",
    }
    # ...and not by default, from the same seed.
    coherent = draw_cases(200, seed=1, rules=coherence_rulebook)
    assert not any(incoherence_notes(c, coherence_rulebook) for c in coherent)


def test_constraints_that_allow_no_coherent_case_are_an_error(
    coherence_rulebook: Rulebook,
) -> None:
    constraints = {"site": "lung", "syndromes": ["insulinoma"]}
    with pytest.raises(VignetteError) as error:
        draw_cases(3, seed=1, constraints=constraints, rules=coherence_rulebook)
    message = str(error.value)
    assert "no coherent case" in message
    assert "note.coherence.fixture_insulinoma_site" in message
    assert "impossible or too rare" in message
    # Flagged cases were asked for: then they are drawn.
    cases = draw_cases(3, seed=1, constraints=constraints, rules=coherence_rulebook, coherent=False)
    assert all(c.site is Site.LUNG for c in cases)


def test_constraints_are_kept_while_incoherent_draws_are_redrawn(
    coherence_rulebook: Rulebook,
) -> None:
    # Insulinoma is coherent only in the pancreas here (or an unknown site): every case lands
    # there, whatever the site weights say.
    cases = draw_cases(
        50, seed=5, constraints={"syndromes": ["insulinoma"]}, rules=coherence_rulebook
    )
    assert {c.site for c in cases} <= {Site.PANCREAS, Site.UNKNOWN}
    assert all(c.syndromes == {"insulinoma"} and c.symptomatic is not False for c in cases)


# --- sites as the documents weight them ---


def test_site_weights_are_the_documents_figures() -> None:
    # Cleveland Clinic's figures; the large intestine's 20% split over colon and rectum.
    documented = {
        "colon": 10.0,
        "rectum": 10.0,
        "small_bowel": 19.0,
        "appendix": 4.0,
        "lung": 30.0,
        "pancreas": 7.0,
    }
    assert {s: w for s, w in SITE_WEIGHTS.items() if s in documented} == documented
    others = {w for s, w in SITE_WEIGHTS.items() if s not in documented}
    assert len(others) == 1
    assert others.pop() < min(documented.values())
    assert list(SITE_WEIGHTS) == [s.value for s in Site if s is not Site.UNKNOWN]


@pytest.mark.parametrize("coherent", [True, False], ids=["coherent", "flagged-too"])
def test_sites_follow_the_weights(rulebook: Rulebook, coherent: bool) -> None:
    count = 4_000
    cases = draw_cases(count, seed=20261130, rules=rulebook, coherent=coherent)
    sites = Counter(c.site.value for c in cases)
    known = count - sites["unknown"]
    assert 0.02 * count < sites["unknown"] < 0.08 * count
    total = sum(SITE_WEIGHTS.values())
    for site, weight in SITE_WEIGHTS.items():
        expected = weight / total
        spread = math.sqrt(expected * (1 - expected) / known)
        # Generous: five standard deviations plus half a percentage point.
        assert abs(sites[site] / known - expected) < 5 * spread + 0.005, site
    # The ranking the documents give: lung, then the intestine, then pancreas and appendix.
    assert sites["lung"] > sites["small_bowel"] > sites["colon"] > sites["pancreas"]
    assert sites["pancreas"] > sites["appendix"] > max(sites["stomach"], sites["liver"])


# --- constraints pin absent sets and false flags ---


def test_empty_sets_and_false_flags_can_be_pinned() -> None:
    constraints = {
        "syndromes": [],
        "metastases": [],
        "inherited": [],
        "carcinoid_heart_disease": False,
        "diarrhoea_despite_ssa": False,
        "completely_removed": False,
    }
    cases = draw_cases(300, seed=8, constraints=constraints, coherent=False)
    for case in cases:
        assert case.syndromes == case.metastases == case.inherited == frozenset()
        assert not case.carcinoid_heart_disease
        assert not case.diarrhoea_despite_ssa
        assert not case.completely_removed
    # Without the constraints, the same draw has members and true flags.
    free = draw_cases(300, seed=8, coherent=False)
    for field in ("syndromes", "metastases", "inherited", "completely_removed"):
        assert any(getattr(c, field) for c in free), field


def test_the_draw_is_reproducible_and_a_longer_draw_extends_a_shorter_one(
    coherence_rulebook: Rulebook,
) -> None:
    first = draw_cases(60, seed=99, rules=coherence_rulebook)
    assert draw_cases(60, seed=99, rules=coherence_rulebook) == first
    assert draw_cases(90, seed=99, rules=coherence_rulebook)[:60] == first


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the source documents are not beside the repo")
def test_the_fixture_rulebook_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["lint", "--corpus", str(CORPUS), "--rules", str(COHERENCE_RULES)])
    assert status == 0, capsys.readouterr()
