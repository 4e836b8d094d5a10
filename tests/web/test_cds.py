"""The CDS Hooks endpoints over HTTP (TestClient); every answer is checked against the spec."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from netaid import Case, discuss
from netaid.web import Settings, create_app
from netaid.web._cards import MAX_SUMMARY

from . import schemas
from .support import PATIENT, FakeFhir, expected_cards, hook_request, prefetch_of, resources_of

URL = "/cds-services/netaid-patient-view"
BASE = "http://testserver"


def cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    schemas.check(body, schemas.RESPONSE)
    result: list[dict[str, Any]] = body["cards"]
    return result


def outcome(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    body = response.json()
    schemas.check(body, schemas.OPERATION_OUTCOME)
    issues: list[dict[str, Any]] = body["issue"]
    return issues


def test_discovery_has_one_patient_view_service_with_prefetch(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    schemas.check(body, schemas.DISCOVERY)
    [service] = body["services"]
    assert service["hook"] == "patient-view"
    assert service["id"] == "netaid-patient-view"
    assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
    assert service["prefetch"]["observations"] == "Observation?patient={{context.patientId}}"
    assert "not medical advice" in service["description"]


def test_a_request_we_send_has_the_spec_shape(carcinoid: Case) -> None:
    schemas.check(hook_request(prefetch_of(carcinoid)), schemas.REQUEST)
    auth = {"access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "s",
            "subject": "netaid"}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="fhirServer"):
        schemas.check(hook_request(fhirAuthorization=auth), schemas.REQUEST)


def test_prefetched_record_gives_the_cards_of_discuss(client: TestClient, carcinoid: Case) -> None:
    body = hook_request(prefetch_of(carcinoid))
    got = cards(client.post(URL, json=body))
    assert got == expected_cards(carcinoid, body["hookInstance"], BASE)
    assert len(got) == 10


def test_cards_carry_summary_indicator_detail_source_and_handout_link(
    client: TestClient, carcinoid: Case
) -> None:
    got = cards(client.post(URL, json=hook_request(prefetch_of(carcinoid))))
    discussion = discuss(carcinoid)
    by_title = {p.title: p for p in discussion.points}
    for card in got:
        assert len(card["summary"]) <= MAX_SUMMARY
        point = by_title[card["summary"]]
        assert (
            card["indicator"]
            == {"urgent": "critical", "warning": "warning", "info": "info"}[point.urgency.value]
        )
        detail = card["detail"]
        assert "**Why this applies:**" in detail
        assert "Educational only — not medical advice." in detail
        for ref in point.sources:
            assert ref.publisher.split()[0] in detail
        first = point.sources[0]
        assert card["source"]["label"].startswith(first.publisher[:60])
        expected_topic = point.category.value if point.category else point.kind.value
        assert card["source"]["topic"]["code"] == expected_topic
        [link] = card["links"]
        assert link["url"].startswith(f"{BASE}/?site=small_bowel&")
        assert link["url"].endswith(f"#h1-point-{point.id}")
        assert link["url"].split("#")[0] in detail
    # Urgent points lead, as critical cards, then treatment points.
    indicators = [c["indicator"] for c in got]
    assert indicators[0] == "critical"
    urgent = sum(1 for p in discussion.points if p.urgency.value == "urgent")
    assert indicators[:urgent] == ["critical"] * urgent
    assert "critical" not in indicators[urgent:]
    kinds = [by_title[c["summary"]].kind.value for c in got[urgent:]]
    assert kinds == ["treatment"] * len(kinds)


def test_handout_link_opens_the_tutor_page_at_the_point(
    client: TestClient, carcinoid: Case
) -> None:
    [card] = cards(client.post(URL, json=hook_request(prefetch_of(carcinoid))))[:1]
    url, anchor = card["links"][0]["url"].split("#")
    page = client.get(url.removeprefix(BASE))
    assert page.status_code == 200
    assert f'id="{anchor}"' in page.text


def test_max_cards_limits_and_keeps_urgent_first(feedback_file: Path, carcinoid: Case) -> None:
    app = create_app(Settings(max_cards=3, feedback_file=feedback_file))
    with TestClient(app) as client:
        body = hook_request(prefetch_of(carcinoid))
        got = cards(client.post(URL, json=body))
    assert got == expected_cards(carcinoid, body["hookInstance"], BASE, max_cards=3)
    assert [c["indicator"] for c in got[:2]] == ["critical", "critical"]


def test_same_call_same_card_ids_other_call_other_ids(client: TestClient, carcinoid: Case) -> None:
    body = hook_request(prefetch_of(carcinoid))
    first = cards(client.post(URL, json=body))
    again = cards(client.post(URL, json=body))
    other = cards(client.post(URL, json={**body, "hookInstance": "another"}))
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    assert not {c["uuid"] for c in first} & {c["uuid"] for c in other}
    assert len({c["uuid"] for c in first}) == len(first)


def test_a_patient_without_a_net_gets_no_cards(client: TestClient) -> None:
    hypertension = {
        "resourceType": "Condition",
        "id": "htn",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
    }
    prefetch = {
        "conditions": {"resourceType": "Bundle", "type": "searchset",
                       "entry": [{"resource": hypertension}]},
        "observations": {"resourceType": "Bundle", "type": "searchset"},
    }  # fmt: skip
    assert cards(client.post(URL, json=hook_request(prefetch))) == []


def test_a_record_with_conflicts_gets_one_card_saying_so(
    client: TestClient, carcinoid: Case
) -> None:
    prefetch = prefetch_of(carcinoid)
    other = prefetch_of(Case(site="lung"))["conditions"]["entry"]
    for entry in other:
        entry["resource"]["id"] = "second-primary"
        entry["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-000000000002"
    prefetch["conditions"]["entry"] += other
    [card] = cards(client.post(URL, json=hook_request(prefetch)))
    assert card["indicator"] == "info"
    assert "could not read one tumour profile" in card["summary"]
    assert "primary cancer conditions" in card["detail"]


def test_resources_about_another_patient_are_refused(client: TestClient, carcinoid: Case) -> None:
    response = client.post(URL, json=hook_request(prefetch_of(carcinoid, patient="someone-else")))
    [issue] = outcome(response, 400)
    assert issue["expression"] == ["prefetch.conditions"]
    assert "another patient" in issue["details"]["text"]


# --- faults: malformed requests ---


def test_malformed_json_is_400_naming_the_body(client: TestClient) -> None:
    response = client.post(URL, content=b'{"hook": ', headers={"Content-Type": "application/json"})
    [issue] = outcome(response, 400)
    assert "JSON" in issue["details"]["text"]


def test_json_nested_too_deep_is_400_naming_the_body(client: TestClient) -> None:
    response = client.post(
        URL, content=b"[" * 200_000, headers={"Content-Type": "application/json"}
    )
    [issue] = outcome(response, 400)
    assert issue["details"]["text"].startswith("(body)")
    assert "Traceback" not in response.text


def test_wrong_hook_is_400_naming_hook(client: TestClient, carcinoid: Case) -> None:
    body = hook_request(prefetch_of(carcinoid), hook="order-sign")
    [issue] = outcome(client.post(URL, json=body), 400)
    assert issue["expression"] == ["hook"]
    assert "order-sign" in issue["details"]["text"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"context": {}}, "context.patientId"),
        ({"context": None}, "context"),
        ({"hookInstance": None}, "hookInstance"),
        ({"prefetch": []}, "prefetch"),
        ({"fhirServer": "not a url"}, "fhirServer"),
    ],
)
def test_missing_or_malformed_fields_are_422_naming_them(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**hook_request({}), **change}.items() if v is not None}
    issues = outcome(client.post(URL, json=body), 422)
    assert [field] in [i.get("expression") for i in issues]


def test_a_prefetch_value_that_is_not_a_resource_is_400(client: TestClient) -> None:
    body = hook_request({"conditions": [1, 2], "observations": {"resourceType": "Bundle"}})
    [issue] = outcome(client.post(URL, json=body), 400)
    assert issue["expression"] == ["prefetch.conditions"]


def test_fhir_authorization_without_server_is_400(client: TestClient) -> None:
    auth = {"access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "s",
            "subject": "netaid"}  # fmt: skip
    [issue] = outcome(client.post(URL, json=hook_request(fhirAuthorization=auth)), 400)
    assert issue["expression"] == ["fhirServer"]


def test_unknown_service_is_404(client: TestClient) -> None:
    [issue] = outcome(client.post("/cds-services/nothing", json=hook_request({})), 404)
    assert issue["expression"] == ["id"]


def test_neither_prefetch_nor_server_is_412(client: TestClient) -> None:
    issues = outcome(client.post(URL, json=hook_request()), 412)
    assert {tuple(i["expression"]) for i in issues} == {
        ("prefetch.conditions",),
        ("prefetch.observations",),
    }


# --- reading from the client's FHIR server ---


def test_without_prefetch_it_reads_the_fhir_server_with_the_token(
    client: TestClient, fhir: FakeFhir, carcinoid: Case
) -> None:
    fhir.patients[PATIENT] = resources_of(carcinoid)
    auth = {"access_token": "secret-token", "token_type": "Bearer", "expires_in": 300,
            "scope": "patient/*.read", "subject": "netaid"}  # fmt: skip
    body = hook_request(fhirServer=fhir.url, fhirAuthorization=auth)
    got = cards(client.post(URL, json=body))
    assert got == expected_cards(carcinoid, body["hookInstance"], BASE)
    paths = [path for path, _ in fhir.seen]
    assert {p.split("?")[0] for p in paths} == {"/fhir/Condition", "/fhir/Observation",
                                                 "/fhir/Procedure"}  # fmt: skip
    assert any("_offset=" in p for p in paths), "the next links were followed"
    assert {a for _, a in fhir.seen} == {"Bearer secret-token"}


def test_prefetched_keys_are_not_fetched_again(
    client: TestClient, fhir: FakeFhir, carcinoid: Case
) -> None:
    fhir.patients[PATIENT] = resources_of(carcinoid)
    prefetch = prefetch_of(carcinoid)
    del prefetch["observations"]
    body = hook_request(prefetch, fhirServer=fhir.url)
    assert cards(client.post(URL, json=body)) == expected_cards(
        carcinoid, body["hookInstance"], BASE
    )
    assert {p.split("?")[0] for p, _ in fhir.seen} == {"/fhir/Observation"}
    assert {a for _, a in fhir.seen} == {None}


@pytest.mark.parametrize(("mode", "words"), [("error", "answered 500"), ("html", "JSON")])
def test_a_failing_fhir_server_is_a_412_naming_it(
    client: TestClient, fhir: FakeFhir, mode: str, words: str
) -> None:
    fhir.mode = mode
    issues = outcome(client.post(URL, json=hook_request(fhirServer=fhir.url)), 412)
    assert issues[0]["expression"] == ["fhirServer"]
    assert words in issues[0]["details"]["text"]


def test_a_fhir_server_that_hangs_is_answered_within_the_timeout(
    client: TestClient, fhir: FakeFhir
) -> None:
    fhir.mode, fhir.delay = "slow", 8.0
    start = time.monotonic()
    issues = outcome(client.post(URL, json=hook_request(fhirServer=fhir.url)), 412)
    took = time.monotonic() - start
    assert took < 4.0, took  # the app's fhir_timeout is 1 s; the server would take 8
    assert issues[0]["code"] == "timeout"
    assert "did not answer within 1 s" in issues[0]["details"]["text"]


def test_the_token_never_follows_a_next_link_off_the_server(
    client: TestClient, fhir: FakeFhir, carcinoid: Case
) -> None:
    fhir.patients[PATIENT] = resources_of(carcinoid)
    real = fhir.url
    fhir.url = "http://127.0.0.2:9/elsewhere"  # what the fake writes into its next links
    auth = {"access_token": "secret", "token_type": "Bearer", "expires_in": 60, "scope": "s",
            "subject": "netaid"}  # fmt: skip
    body = hook_request(fhirServer=real, fhirAuthorization=auth)
    [issue] = outcome(client.post(URL, json=body), 412)
    assert issue["expression"] == ["fhirServer"]
    assert "outside" in issue["details"]["text"]
    assert all(path.startswith("/fhir/") for path, _ in fhir.seen)


def test_an_unreachable_fhir_server_is_a_412(client: TestClient) -> None:
    body = hook_request(fhirServer="http://127.0.0.1:9/fhir")
    [issue] = outcome(client.post(URL, json=body), 412)
    assert "cannot reach" in issue["details"]["text"]


# --- feedback ---


def test_feedback_is_appended_as_json_lines_with_card_ids_only(
    client: TestClient, feedback_file: Path
) -> None:
    feedback = {
        "feedback": [
            {"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
             "acceptedSuggestions": [{"id": "e56e1945"}],
             "outcomeTimestamp": "2021-12-11T10:05:31Z"},
            {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
             "overrideReason": {"reason": {"code": "d7ecf885", "system": "https://example.com/r"},
                                "userComment": "Patient Jane Doe, born 1960, declined"},
             "outcomeTimestamp": "2020-12-11T00:00:00Z"},
        ]
    }  # fmt: skip
    schemas.check(feedback, schemas.FEEDBACK)
    response = client.post(f"{URL}/feedback", json=feedback)
    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": 2}
    client.post(f"{URL}/feedback", json={"feedback": feedback["feedback"][:1]})
    lines = [json.loads(line) for line in feedback_file.read_text().splitlines()]
    assert [line["card"] for line in lines] == [
        "4e0a3a1e-3283-4575-ab82-028d55fe2719",
        "9368d37b-283f-44a0-93ea-547cebab93ed",
        "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    ]
    assert lines[1]["outcome"] == "overridden"
    assert lines[1]["overrideReason"] == {"system": "https://example.com/r", "code": "d7ecf885"}
    assert "Jane" not in feedback_file.read_text()
    assert set(lines[0]) <= {"service", "card", "outcome", "outcomeTimestamp", "received",
                             "acceptedSuggestions", "overrideReason"}  # fmt: skip


def test_feedback_with_a_wrong_outcome_is_422_naming_it(
    client: TestClient, feedback_file: Path
) -> None:
    bad = {
        "feedback": [
            {"card": "x", "outcome": "ignored", "outcomeTimestamp": "2020-12-11T00:00:00Z"}
        ]
    }
    [issue] = outcome(client.post(f"{URL}/feedback", json=bad), 422)
    assert issue["expression"] == ["feedback[0].outcome"]
    assert not feedback_file.exists()
