"""`netaid explain CASE POINT_ID` from a case file and from a FHIR bundle."""

from __future__ import annotations

import pytest

from netaid.cli import main
from tests.conftest import REPO

EXAMPLES = REPO / "examples"


@pytest.mark.parametrize(
    "case_file",
    [
        EXAMPLES / "pancreas-insulinoma-metastatic.yaml",
        EXAMPLES / "fhir" / "pancreas-insulinoma-metastatic.json",
    ],
    ids=["yaml", "fhir"],
)
def test_explain_says_which_parts_are_unmet(
    case_file: object, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["explain", str(case_file), "treatment.surgery.primary"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "treatment.surgery.primary" in out
    assert "does not apply" in out
    assert "metastatic" in out


def test_explain_names_an_unknown_point(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["explain", str(EXAMPLES / "appendix-localized-g1.yaml"), "treatment.surgery.primry"]
    )
    _, err = capsys.readouterr()
    assert status == 2
    assert "treatment.surgery.primry" in err
