"""The tutor page, its downloads and vignette zips, and the JSON API, over HTTP."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netaid import Case, discuss, render
from netaid.case import case_fields
from netaid.vignettes import draw_cases
from netaid.web._tutor import MAX_WEB_VIGNETTES, handout_parts

from . import schemas
from .support import prefetch_of

CASE_QUERY = (
    "site=small_bowel&grade=G1&differentiation=well&stage=metastatic&metastases=liver"
    "&functional_status=functioning&syndromes=carcinoid_syndrome&carcinoid_heart_disease=true"
)


def test_the_empty_form_has_every_case_field(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    form = html[html.index('<form class="no-print case-form"') : html.index("</form>")]
    for name, spec in case_fields().items():
        assert f'name="{name}"' in form, name
        if spec.kind == "set":
            assert re.search(rf'<select id="case-{name}" name="{name}" multiple', form), name
            for value in spec.values:
                assert f'<option value="{value}"' in form
        elif spec.kind == "flag":
            assert f'type="checkbox" id="case-{name}"' in form
        else:
            assert f'<select id="case-{name}" name="{name}">' in form
    assert 'name="title"' in form
    assert 'name="notes"' in form
    assert "<script" not in html  # plain forms: no JavaScript at all
    assert 'method="get" action="/vignettes.zip"' in html


def test_a_filled_form_shows_the_handout(client: TestClient, carcinoid: Case) -> None:
    page = client.get(f"/?{CASE_QUERY}")
    assert page.status_code == 200
    expected = discuss(carcinoid)
    for point in expected.points:
        assert f'id="h1-point-{point.id}"' in page.text
    _, body = handout_parts(render(expected, "html"))
    assert body in page.text  # the handout exactly as `netaid discuss --format html` has it
    # The form shows what was chosen.
    assert '<option value="small_bowel" selected>' in page.text
    assert (
        'id="case-carcinoid_heart_disease" name="carcinoid_heart_disease" value="true" checked'
        in page.text
    )


def test_the_audience_switch_gives_the_student_worksheet(
    client: TestClient, carcinoid: Case
) -> None:
    tutor = client.get(f"/?{CASE_QUERY}&audience=tutor").text
    link = re.search(r'id="switch-audience" href="([^"]+)"', tutor)
    assert link is not None
    student = client.get(link.group(1).replace("&amp;", "&")).text
    assert 'id="showing">student<' in student
    _, body = handout_parts(render(discuss(carcinoid), "html", audience="student"))
    assert body in student
    assert "Why this applies" not in body  # no answers for students


def test_an_invalid_case_is_shown_with_the_fields_named(client: TestClient) -> None:
    page = client.get("/?site=pancreas&stage=localized&metastases=liver")
    assert page.status_code == 422
    errors = page.text[page.text.index('id="errors"') :]
    assert 'data-field="metastases, stage"' in errors or 'data-field="stage, metastases"' in errors
    assert page.text.count('id="handout"') == 0
    page = client.get("/?grade=G2")
    assert page.status_code == 422
    assert 'data-field="site"' in page.text


@pytest.mark.parametrize(
    ("fmt", "media", "ext"),
    [("markdown", "text/markdown", "md"), ("html", "text/html", "html"),
     ("json", "application/json", "json"), ("fhir", "application/fhir+json", "json")],
)  # fmt: skip
def test_downloads_are_the_renderers_output(
    client: TestClient, carcinoid: Case, fmt: str, media: str, ext: str
) -> None:
    response = client.get(f"/download/{fmt}?{CASE_QUERY}&audience=tutor")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="netaid-small_bowel-tutor.{ext}"'
    )
    assert response.text == render(discuss(carcinoid), fmt)


def test_a_download_of_an_invalid_case_is_json_naming_the_field(client: TestClient) -> None:
    response = client.get("/download/markdown?site=mars")
    assert response.status_code == 422
    schemas.check(response.json(), schemas.API_ERROR)
    assert response.json()["error"]["problems"][0]["field"] == "site"
    response = client.get(f"/download/pdf?{CASE_QUERY}")
    assert response.status_code == 404
    assert response.json()["error"]["problems"][0]["field"] == "format"


def _zip(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_vignettes_zip_is_the_seeded_draw(client: TestClient) -> None:
    query = "count=3&seed=7&format=markdown&audience=tutor&stage=metastatic&site="
    files = _zip(client.get(f"/vignettes.zip?{query}"))
    assert sorted(files) == ["vignette-01.md", "vignette-02.md", "vignette-03.md"]
    cases = draw_cases(3, 7, {"stage": "metastatic"})
    for number, case in enumerate(cases, start=1):
        assert files[f"vignette-{number:02d}.md"] == render(discuss(case), "markdown")
    again = _zip(client.get(f"/vignettes.zip?{query}"))
    assert again == files


def test_vignette_sets_and_flags_constrain_every_case(client: TestClient) -> None:
    query = (
        "count=4&seed=1&format=json&metastases=liver&metastases=bone&carcinoid_heart_disease=true"
    )
    for text in _zip(client.get(f"/vignettes.zip?{query}")).values():
        case = json.loads(text)["case"]
        assert case["metastases"] == ["bone", "liver"]
        assert case["carcinoid_heart_disease"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [(f"count={MAX_WEB_VIGNETTES + 1}&seed=1", "count"), ("seed=1", "count"),
     ("count=2&seed=-1", "seed"), ("count=2&format=pdf", "format"),
     ("count=2&stage=localized&metastases=liver", "stage, metastases")],
)  # fmt: skip
def test_bad_vignette_requests_name_the_field(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"/vignettes.zip?{query}")
    assert response.status_code == 422, response.text
    schemas.check(response.json(), schemas.API_ERROR)
    fields = {p["field"] for p in response.json()["error"]["problems"]}
    assert field in fields or set(field.split(", ")) <= {f for p in fields for f in p.split(", ")}


# --- the JSON API ---


def test_discuss_a_case(client: TestClient, carcinoid: Case) -> None:
    response = client.post("/discuss", json=carcinoid.model_dump(mode="json"))
    assert response.status_code == 200
    assert response.text == render(discuss(carcinoid), "json")


def test_discuss_a_bundle(client: TestClient, carcinoid: Case) -> None:
    from netaid.fhir import bundle_from_case

    response = client.post("/discuss", json=bundle_from_case(carcinoid))
    assert response.status_code == 200
    assert (
        json.loads(response.text)["points"]
        == json.loads(render(discuss(carcinoid), "json"))["points"]
    )
    student = client.post("/discuss?audience=student", json=carcinoid.model_dump(mode="json"))
    assert student.text == render(discuss(carcinoid), "json", audience="student")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [(b'{"site": ', 400, "(body)"), (b'{"site": "lung", "grade": "G7"}', 422, "grade"),
     (b'{"site": "lung", "colour": "red"}', 422, "colour"), (b"[1, 2]", 422, "(case)"),
     (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
      b'{"resourceType": "Condition", "bodySite": 3}}]}', 422, "Condition (entry 0) bodySite")],
)  # fmt: skip
def test_discuss_errors_are_json_naming_the_field(
    client: TestClient, body: bytes, status: int, field: str
) -> None:
    response = client.post("/discuss", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    schemas.check(response.json(), schemas.API_ERROR)
    fields = [p["field"] for p in response.json()["error"]["problems"]]
    assert any(f.startswith(field) for f in fields), fields
    assert "Traceback" not in response.text


def test_openapi_documents_the_json_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/discuss", "/cds-services", "/cds-services/{service_id}",
            "/cds-services/{service_id}/feedback"} <= set(spec["paths"])  # fmt: skip
    body = spec["paths"]["/discuss"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][0] == {"$ref": "#/components/schemas/Case"}
    assert "site" in spec["components"]["schemas"]["Case"]["properties"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert "<script" not in page.text  # no JavaScript, nothing fetched from a CDN
    assert "src=" not in page.text
    for path in ("/discuss", "/cds-services/{service_id}/feedback"):
        assert f"<code>{path}</code>" in page.text


def test_unknown_pages_are_json_404(client: TestClient) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404
    schemas.check(response.json(), schemas.API_ERROR)


def test_prefetch_helper_round_trips(carcinoid: Case) -> None:
    # The tests' own helper: what they send is the case they compare with.
    from netaid.fhir import case_from_bundle
    from netaid.web._prefetch import bundle_of

    assert case_from_bundle(bundle_of(prefetch_of(carcinoid), "pt-1")).case == carcinoid
