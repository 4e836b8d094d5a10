"""The service's pure parts on their own: cards, settings, the form's query strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from netaid import Case, discuss
from netaid.errors import ServiceError
from netaid.web import Settings
from netaid.web._cards import MAX_SUMMARY, _summary, cards_for, case_query, chosen
from netaid.web._form import case_from_query, constraints_from_query

from . import schemas


def test_a_long_title_is_cut_below_140_characters() -> None:
    text = "word " * 60
    summary = _summary(text)
    assert len(summary) == MAX_SUMMARY
    assert summary.endswith("…")
    assert _summary("  short   title ") == "short title"


def test_every_point_of_many_cases_makes_a_valid_card() -> None:
    from netaid.vignettes import draw_cases

    for case in draw_cases(60, seed=21):
        discussion = discuss(case)
        cards = cards_for(discussion, hook_instance="h", handout_base="http://x/", max_cards=500)
        assert len(cards) == len(discussion.points) + len(discussion.notes)
        schemas.check({"cards": cards}, schemas.RESPONSE)


def test_chosen_puts_urgent_then_treatment_then_notes_then_the_rest(carcinoid: Case) -> None:
    discussion = discuss(carcinoid)
    items = chosen(discussion, 1000)
    ranks = []
    for item in items:
        if item in discussion.notes:
            ranks.append(2)
        elif item.urgency.value == "urgent":  # type: ignore[union-attr]
            ranks.append(0)
        elif item.kind.value == "treatment":  # type: ignore[union-attr]
            ranks.append(1)
        else:
            ranks.append(3)
    assert ranks == sorted(ranks)
    rest = [i for i, r in zip(items, ranks, strict=True) if r == 3]
    order = [p for p in discussion.points if p in rest]
    assert rest == order  # the rest keeps the discussion's order


def test_case_query_round_trips_and_keeps_free_text_out(carcinoid: Case) -> None:
    case = carcinoid.model_copy(update={"title": "Mrs Smith", "notes": "born 1950"})
    query = case_query(discuss(case))
    assert "Smith" not in query
    assert "1950" not in query
    pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
    assert case_from_query(pairs) == carcinoid  # type: ignore[arg-type]


def test_the_vignette_form_constrains_only_what_is_not_any() -> None:
    items = [("site", ""), ("stage", "metastatic"), ("metastases", "liver"),
             ("metastases", "bone"), ("cell_type", "unknown"), ("count", "3")]  # fmt: skip
    assert constraints_from_query(items) == {
        "stage": "metastatic",
        "metastases": ["liver", "bone"],
        "cell_type": None,
    }


@pytest.mark.parametrize(
    ("values", "words"),
    [({"max_cards": 0}, "max cards"), ({"max_body": 10}, "max body"),
     ({"fhir_timeout": 0}, "timeouts"), ({"public_url": "cds.example.org"}, "public URL")],
)  # fmt: skip
def test_bad_settings_are_refused(values: dict[str, object], words: str) -> None:
    with pytest.raises(ServiceError, match=words):
        Settings(**values)  # type: ignore[arg-type]


def test_settings_travel_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(max_cards=4, trust_file=tmp_path / "t.yaml", public_url="https://x.org")
    assert settings.trust_file is not None
    assert Settings.from_env(settings.to_env()) == settings
    with pytest.raises(ServiceError, match="NETAID_SERVE_MAX_CARDS"):
        Settings.from_env({"NETAID_SERVE_MAX_CARDS": "many"})


def test_cors_only_for_the_origins_given(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from netaid.web import create_app

    settings = Settings(feedback_file=tmp_path / "fb", cors_origins=("https://sandbox.example",))
    assert Settings.from_env(settings.to_env()) == settings
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    url = "/cds-services/netaid-patient-view"
    with TestClient(create_app(settings)) as client:
        allowed = client.options(url, headers={"Origin": "https://sandbox.example", **preflight})
        other = client.options(url, headers={"Origin": "https://evil.example", **preflight})
        plain = client.get("/cds-services", headers={"Origin": "https://sandbox.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://sandbox.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert plain.headers["access-control-allow-origin"] == "https://sandbox.example"
    with pytest.raises(ServiceError, match="CORS origin"):
        Settings(cors_origins=("sandbox.example",))
