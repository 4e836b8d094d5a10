"""Bad input is rejected with a message naming a field, and nothing but netaid's documented
errors (or pydantic's ValidationError from `Case(...)` itself) ever escapes."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from netaid import Case, CaseError, NetaidError, case_from_mapping, discuss, load_case, render
from netaid.case import case_fields
from netaid.render import AUDIENCES, FORMATS
from netaid.strategies import cases, invalid_cases
from tests.property._support import PROPERTY, TODAY
from tests.property.conftest import Subject

FIELDS = set(Case.model_fields)


def named_fields(problem_field: str) -> list[str]:
    # A problem with one field names it; one with a combination names them, comma-separated.
    return [f.strip() for f in problem_field.split(",")]


@given(data=invalid_cases())
@PROPERTY
def test_invalid_cases_are_rejected_naming_a_field(data: dict[str, Any]) -> None:
    with pytest.raises(CaseError) as caught:
        case_from_mapping(data)
    problems = caught.value.problems
    assert problems
    for problem in problems:
        for name in named_fields(problem.field):
            # A field of the model, or the unknown field the input used.
            assert name in FIELDS or name in data, problem
        assert problem.field in str(caught.value)
    with pytest.raises(ValidationError) as raw:
        Case.model_validate(data)
    assert any(name in str(raw.value) for name in FIELDS | set(data))
    with pytest.raises(CaseError):
        discuss(data)


# Anything JSON or YAML could hold, under the case's own field names and others.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
field_values = st.one_of(
    json_values,
    st.sampled_from([v for spec in case_fields().values() for v in spec.values]),
    st.lists(st.sampled_from([v for spec in case_fields().values() for v in spec.values])),
)
mappings = st.dictionaries(
    st.sampled_from([*FIELDS, "metastasis", ""]) | st.text(max_size=8), field_values, max_size=8
)


@given(data=st.one_of(mappings, json_values))
@PROPERTY
def test_no_input_escapes_the_documented_errors(data: Any) -> None:
    try:
        case = case_from_mapping(data)
    except CaseError:
        pass
    else:
        assert isinstance(case, Case)
    with contextlib.suppress(ValidationError):
        Case.model_validate(data)
    with contextlib.suppress(NetaidError):
        discuss(data)


@given(
    text=st.text(max_size=200) | st.binary(max_size=200),
    suffix=st.sampled_from([".yaml", ".json", ".yml"]),
)
@PROPERTY
def test_no_file_escapes_the_documented_errors(text: str | bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"case{suffix}"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        with contextlib.suppress(CaseError):
            load_case(path)


@given(
    case=cases(title=st.none() | st.text(max_size=500), notes=st.none() | st.text(max_size=2000)),
    fmt=st.sampled_from(sorted(FORMATS)),
    audience=st.sampled_from(AUDIENCES),
)
@PROPERTY
def test_every_valid_case_renders(subject: Subject, case: Case, fmt: str, audience: str) -> None:
    discussion = discuss(case, engine=subject.engine, today=TODAY)
    out = render(discussion, fmt, audience=audience)
    assert isinstance(out, str)
    assert out.strip()
