"""The public API is curated: `netaid.__all__` is exactly the documented names, each with a
docstring, and netaid's errors are one pickling tree."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest

import netaid
from netaid.errors import (
    CaseError,
    CheckError,
    ConditionError,
    EngineError,
    EngineLimitError,
    FieldProblem,
    NetaidError,
    RenderError,
    RulebookError,
    RuleProblem,
    UnknownPointError,
)
from tests.conftest import REPO

PUBLIC = [
    "DISCLAIMER",
    "FORMATS",
    "Because",
    "Case",
    "CaseError",
    "Category",
    "CellType",
    "CheckError",
    "ConditionError",
    "Differentiation",
    "Discussion",
    "DurableEngine",
    "Engine",
    "EngineError",
    "EngineLimitError",
    "Evaluation",
    "FunctionalStatus",
    "Grade",
    "IfKnown",
    "Inherited",
    "Kind",
    "Metastasis",
    "NetaidError",
    "Note",
    "Point",
    "PointKind",
    "PointRef",
    "PythonEngine",
    "RenderError",
    "Rule",
    "Rulebook",
    "RulebookError",
    "Site",
    "SourceRef",
    "Stage",
    "Syndrome",
    "Term",
    "Therapy",
    "UnknownPointError",
    "Unmet",
    "Urgency",
    "WhyNot",
    "available_engines",
    "case_from_mapping",
    "default_engine",
    "discuss",
    "discuss_many",
    "load_case",
    "load_rulebook",
    "make_engine",
    "render",
]


def test_the_exported_names_are_exactly_the_curated_ones() -> None:
    assert sorted(netaid.__all__) == sorted(PUBLIC)
    assert len(set(netaid.__all__)) == len(netaid.__all__)
    for name in PUBLIC:
        assert hasattr(netaid, name), name


def test_every_exported_name_is_in_the_api_reference() -> None:
    page = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Za-z_]+)[`(]", page))
    assert set(PUBLIC) <= documented, sorted(set(PUBLIC) - documented)


def test_every_exported_class_and_function_says_what_it_is() -> None:
    for name in PUBLIC:
        obj = getattr(netaid, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
    assert (netaid.Engine.evaluate.__doc__ or "").strip()


def test_engine_internals_are_not_exported() -> None:
    for name in ("match_stack_need", "plan_rulesets", "MAX_MATCH_PATHS", "build_discussion"):
        assert not hasattr(netaid, name)
    import netaid.engines.durable as durable

    assert durable.__all__ == ["DurableEngine", "available"]


def test_kind_is_an_alias_of_point_kind() -> None:
    assert netaid.Kind is netaid.PointKind
    assert netaid.PointKind("treatment") is netaid.PointKind.TREATMENT


ERRORS = [
    CaseError([FieldProblem("grade", "bad", "G9", ("G1", "G2"))], origin="case 3"),
    RulebookError([RuleProblem("rules.yaml", "bad", "r.one", "when")]),
    ConditionError("when.all[0]", "unknown field"),
    EngineError("boom"),
    EngineLimitError("too big"),
    RenderError("no"),
    UnknownPointError("no point"),
    CheckError("unsound"),
    NetaidError("plain"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_is_a_netaid_error_and_pickles(error: NetaidError) -> None:
    assert isinstance(error, NetaidError)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)


def test_parse_condition_raises_only_condition_errors() -> None:
    from netaid.check import parse_condition

    for bad in ({"equals": {"grde": "G1"}}, {"nope": 1}, [], {"all": []}, {"equals": "x"}):
        with pytest.raises(ConditionError):
            parse_condition(bad)


_USER_SCRIPT = """
from netaid import Case, Site, discuss, render

case = Case(site=Site.LUNG)
other = Case(site="lung", stage="metastatic")
text: str = render(discuss(case), "markdown", audience="student")
"""


def test_a_users_script_type_checks_strictly_without_the_pydantic_plugin(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(_USER_SCRIPT))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")  # no plugins: what a user without it gets
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-incremental",
            str(script),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_format_or_field_type_is_a_type_error(tmp_path: Path) -> None:
    script = tmp_path / "wrong.py"
    script.write_text(
        "from netaid import Case, discuss, render\n"
        "render(discuss(Case(site='lung')), 'pdf')\n"
        "Case(site='lung', grade=3)\n"
    )
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-incremental",
            str(script),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "wrong.py:2: error" in done.stdout
    assert "wrong.py:3: error" in done.stdout


def test_the_type_checkers_signature_of_case_lists_every_field() -> None:
    import ast
    import inspect

    from netaid.render import FORMATS, Format

    source = textwrap.dedent(inspect.getsource(netaid.Case))
    init = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    keywords = [arg.arg for arg in init.args.kwonlyargs]
    assert keywords == list(netaid.Case.model_fields)
    pairs = zip(init.args.kwonlyargs, init.args.kw_defaults, strict=True)
    required = [a.arg for a, d in pairs if d is None]
    assert required == [n for n, f in netaid.Case.model_fields.items() if f.is_required()]
    assert set(get_args(Format)) == set(FORMATS)
