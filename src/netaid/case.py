"""The Case: what a tumour profile may say, and what it may not.

Field names and values are a public contract: later versions may add fields, never rename
these. Omitted fields mean unknown (scalars) or empty (sets). Combinations that no document
allows are rejected here; combinations that only some documents rule out are accepted and
flagged by the rulebook instead.
"""

from __future__ import annotations

import difflib
import json
import sys
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from netaid._files import TooLargeError, read_limited
from netaid._untrusted import MAX_SHOWN, shown
from netaid._yaml import DuplicateKeyError, load_json, load_yaml
from netaid.errors import MAX_PROBLEMS_SHOWN, CaseError, FieldProblem

__all__ = [
    "FREE_TEXT_FIELDS",
    "NO_MEMBERS",
    "NULL_WHEN_UNKNOWN",
    "Case",
    "CellType",
    "Differentiation",
    "FieldKind",
    "FieldSpec",
    "FunctionalStatus",
    "Grade",
    "Inherited",
    "Metastasis",
    "Site",
    "Stage",
    "Syndrome",
    "attribute_values",
    "case_fields",
    "case_from_mapping",
    "case_from_text",
    "case_values",
    "describe_value",
    "did_you_mean",
    "field_label",
    "incompatibilities",
    "load_case",
    "text_value",
]


class Site(StrEnum):
    """Where the primary tumour started."""

    STOMACH = "stomach"
    DUODENUM = "duodenum"
    AMPULLA = "ampulla"
    SMALL_BOWEL = "small_bowel"
    APPENDIX = "appendix"
    COLON = "colon"
    RECTUM = "rectum"
    PANCREAS = "pancreas"
    LUNG = "lung"
    THYMUS = "thymus"
    THYROID = "thyroid"
    ADRENAL = "adrenal"
    PITUITARY = "pituitary"
    SKIN = "skin"
    LIVER = "liver"
    GALLBLADDER = "gallbladder"
    BILE_DUCT = "bile_duct"
    KIDNEY = "kidney"
    OVARY = "ovary"
    TESTIS = "testis"
    UNKNOWN = "unknown"


class Grade(StrEnum):
    """The tumour's grade, as the pathologist reported it (G1 to G3), or unknown."""

    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    UNKNOWN = "unknown"


class Differentiation(StrEnum):
    """How much the tumour cells look like normal cells: well or poorly, or unknown."""

    WELL = "well"
    POORLY = "poorly"
    UNKNOWN = "unknown"


class CellType(StrEnum):
    """The cell type of a poorly differentiated tumour: small or large cell."""

    SMALL_CELL = "small_cell"
    LARGE_CELL = "large_cell"


class Stage(StrEnum):
    """How far the tumour has spread: localized, regional, metastatic, or unknown."""

    LOCALIZED = "localized"
    REGIONAL = "regional"
    METASTATIC = "metastatic"
    UNKNOWN = "unknown"


class Metastasis(StrEnum):
    """Where the tumour has spread to."""

    LIVER = "liver"
    BONE = "bone"
    LYMPH_NODES = "lymph_nodes"
    LUNG = "lung"
    OTHER = "other"


class FunctionalStatus(StrEnum):
    """Whether the tumour makes hormones that cause symptoms, or unknown."""

    FUNCTIONING = "functioning"
    NON_FUNCTIONING = "non_functioning"
    UNKNOWN = "unknown"


class Syndrome(StrEnum):
    """A hormone syndrome the tumour causes."""

    CARCINOID_SYNDROME = "carcinoid_syndrome"
    INSULINOMA = "insulinoma"
    ZOLLINGER_ELLISON = "zollinger_ellison"
    VIPOMA = "vipoma"
    GLUCAGONOMA = "glucagonoma"
    SOMATOSTATINOMA = "somatostatinoma"
    PHEOCHROMOCYTOMA = "pheochromocytoma"


class Inherited(StrEnum):
    """An inherited syndrome known in the patient."""

    MEN1 = "men1"
    MEN2 = "men2"
    VHL = "vhl"
    NF1 = "nf1"
    TSC = "tsc"


def _sorted_list(members: frozenset[StrEnum]) -> list[str]:
    # Sets serialise in a fixed order so that the same case always renders the same bytes.
    return sorted(m.value for m in members)


MetastasisSet = Annotated[frozenset[Metastasis], PlainSerializer(_sorted_list)]
SyndromeSet = Annotated[frozenset[Syndrome], PlainSerializer(_sorted_list)]
InheritedSet = Annotated[frozenset[Inherited], PlainSerializer(_sorted_list)]

#: Far more than any case needs (title and notes included); bounds what a reader holds.
MAX_CASE_CHARS = 1024 * 1024

_DISTANT = frozenset({Metastasis.LIVER, Metastasis.BONE, Metastasis.LUNG, Metastasis.OTHER})


class Case(BaseModel):
    """A neuroendocrine tumour profile. Frozen: a case never changes once validated."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    site: Site = Field(description="Where the primary tumour started.")
    grade: Grade = Field(Grade.UNKNOWN, description="Grade as the pathologist reported it.")
    differentiation: Differentiation = Differentiation.UNKNOWN
    cell_type: CellType | None = Field(
        None, description="Only for poorly differentiated tumours; null when unknown."
    )
    stage: Stage = Stage.UNKNOWN
    metastases: MetastasisSet = Field(
        frozenset(), description="Where the tumour has spread to, if anywhere."
    )
    functional_status: FunctionalStatus = FunctionalStatus.UNKNOWN
    syndromes: SyndromeSet = Field(frozenset(), description="Hormone syndromes the tumour causes.")
    symptomatic: bool | None = Field(None, description="Does the tumour cause symptoms?")
    resectable: bool | None = Field(None, description="Could surgery remove it completely?")
    completely_removed: bool = Field(
        False, description="The tumour has been removed completely; the case is in follow-up."
    )
    carcinoid_heart_disease: bool = False
    diarrhoea_despite_ssa: bool = Field(
        False, description="Diarrhoea not controlled by a somatostatin analogue alone."
    )
    inherited: InheritedSet = Field(
        frozenset(), description="Inherited syndromes known in the patient."
    )
    title: str | None = Field(None, max_length=500, description="Free text; never read by rules.")
    notes: str | None = Field(
        None, max_length=10_000, description="Free text; never read by rules."
    )

    if TYPE_CHECKING:
        # The signature a type checker sees, with or without pydantic's mypy plugin: every
        # field by keyword, enum fields also as their values' strings, sets as any iterable
        # (validation converts them). `tests/unit/test_public_api.py` keeps it in step with
        # the fields.
        def __init__(
            self,
            *,
            site: Site | str,
            grade: Grade | str = ...,
            differentiation: Differentiation | str = ...,
            cell_type: CellType | str | None = ...,
            stage: Stage | str = ...,
            metastases: Iterable[Metastasis | str] = ...,
            functional_status: FunctionalStatus | str = ...,
            syndromes: Iterable[Syndrome | str] = ...,
            symptomatic: bool | None = ...,
            resectable: bool | None = ...,
            completely_removed: bool = ...,
            carcinoid_heart_disease: bool = ...,
            diarrhoea_despite_ssa: bool = ...,
            inherited: Iterable[Inherited | str] = ...,
            title: str | None = ...,
            notes: str | None = ...,
        ) -> None: ...

    @model_validator(mode="after")
    def _reject_impossible(self) -> Case:
        problems = incompatibilities(case_values(self))
        if problems:
            fields = sorted({f for p in problems for f in p.fields})
            raise PydanticCustomError(
                "incompatible_fields",
                "{message}",
                {"message": "; ".join(p.message for p in problems), "fields": ", ".join(fields)},
            )
        _VALIDATED[id(self)] = self
        return self

    def __getstate__(self) -> dict[Any, Any]:
        # Whether the case was validated travels with it: a worker of discuss_many then checks
        # exactly the cases the caller's process would have.
        return {**super().__getstate__(), _VALIDATED_KEY: _VALIDATED.get(id(self)) is self}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        state = dict(state)
        was_validated = state.pop(_VALIDATED_KEY, False)
        super().__setstate__(state)
        if was_validated:
            _VALIDATED[id(self)] = self


# The cases pydantic validated. `model_copy(update=...)` and `model_construct` skip
# validation, so `validated` checks any other case again before it is evaluated. By
# identity, through weak references: an unchecked copy may compare equal to a valid case
# ("G1" == Grade.G1).
_VALIDATED: weakref.WeakValueDictionary[int, Case] = weakref.WeakValueDictionary()
_VALIDATED_KEY = "netaid_validated"


def validated(case: Case) -> Case:
    """`case` if it was validated when made, else the case validated again (`CaseError`)."""
    if _VALIDATED.get(id(case)) is case:
        return case
    # The fields it was given, as given: the validated case keeps its fields_set.
    given = case.model_fields_set
    return case_from_mapping({n: v for n, v in case.__dict__.items() if n in given})


# --- field introspection: one description of the fields, shared by rules, engine and CLI ---

FieldKind = Literal["scalar", "tristate", "flag", "set"]


@dataclass(frozen=True)
class FieldSpec:
    """How conditions, the engine and the CLI see one Case field.

    `values` are the strings a condition may name: for scalars they include "unknown";
    tristate fields (yes/no/unknown) and flags use "true"/"false".
    """

    name: str
    kind: FieldKind
    values: tuple[str, ...]


_TRISTATE = ("true", "false", "unknown")
_FLAG = ("true", "false")
#: The free-text fields: part of a case, never read by rules.
FREE_TEXT_FIELDS = ("title", "notes")
_FREE_TEXT = frozenset(FREE_TEXT_FIELDS)


def _spec_for(name: str) -> FieldSpec:
    annotation = Case.model_fields[name].annotation
    if annotation is bool:
        return FieldSpec(name, "flag", _FLAG)
    if annotation == bool | None:
        return FieldSpec(name, "tristate", _TRISTATE)
    enum = _SET_FIELDS.get(name)
    if enum is not None:
        return FieldSpec(name, "set", tuple(m.value for m in enum))
    scalar = _SCALAR_FIELDS[name]
    values = tuple(m.value for m in scalar)
    if "unknown" not in values:
        values += ("unknown",)
    return FieldSpec(name, "scalar", values)


_SCALAR_FIELDS: dict[str, type[StrEnum]] = {
    "site": Site,
    "grade": Grade,
    "differentiation": Differentiation,
    "cell_type": CellType,
    "stage": Stage,
    "functional_status": FunctionalStatus,
}
_SET_FIELDS: dict[str, type[StrEnum]] = {
    "metastases": Metastasis,
    "syndromes": Syndrome,
    "inherited": Inherited,
}

_FIELDS: dict[str, FieldSpec] = {
    name: _spec_for(name) for name in Case.model_fields if name not in _FREE_TEXT
}


def case_fields() -> Mapping[str, FieldSpec]:
    """The Case fields that rules may read, in model order (free text excluded)."""
    return _FIELDS


#: The fields whose unknown is null rather than a value of their own: `cell_type` and the
#: yes/no fields `symptomatic` and `resectable`. Rules (and `case_fields()`) still see them as
#: "unknown", like every other scalar; typed as text, "unknown" means not given for them.
NULL_WHEN_UNKNOWN = frozenset(
    name
    for name, info in Case.model_fields.items()
    if info.default is None and name not in _FREE_TEXT
)


#: Typed as text, the member that stands for the empty set: `--syndrome none` says the case
#: has no syndromes (and, as a flag, overrides a case file's members). No set field has a
#: member of this name.
NO_MEMBERS = "none"


def _members(value: object) -> list[object] | None:
    return list(value) if isinstance(value, list | tuple) else None


def _is_none(member: object) -> bool:
    return isinstance(member, str) and member.lower() == NO_MEMBERS


def text_value(name: str, value: object) -> object:
    """A field's value as typed in text (a command-line flag, a CSV cell).

    "unknown" (in any case) is None, that is not given, for the fields whose unknown is null
    (`NULL_WHEN_UNKNOWN`), so that every scalar field takes "unknown" the way `grade` and
    `stage` do. A set field given only "none" (`NO_MEMBERS`, in any case) is the empty set.
    Anything else is returned unchanged, for `Case` to validate.
    """
    if name in NULL_WHEN_UNKNOWN and isinstance(value, str) and value.lower() == "unknown":
        return None
    members = _members(value)
    if name in _SET_FIELDS and members and all(_is_none(m) for m in members):
        return []
    return value


def _none_with_members(name: str, value: object) -> FieldProblem | None:
    """ "none" given together with members of a set field: a contradiction, not a typo."""
    members = _members(value)
    if name not in _SET_FIELDS or not members or not any(_is_none(m) for m in members):
        return None
    others = [m for m in members if not _is_none(m)]
    if not others:
        return None
    return FieldProblem(
        name,
        f"{NO_MEMBERS!r} (no members) cannot be given together with members, got {members!r}",
        value,
    )


CaseValues: TypeAlias = dict[str, "str | frozenset[str]"]


def case_values(case: Case) -> CaseValues:
    """The case as rules see it: every field present, unknown spelled out, sets as strings."""
    view: CaseValues = {}
    for name, spec in _FIELDS.items():
        raw = getattr(case, name)
        if spec.kind == "set":
            view[name] = frozenset(m.value for m in raw)
        elif spec.kind in ("tristate", "flag"):
            view[name] = "unknown" if raw is None else ("true" if raw else "false")
        else:
            view[name] = "unknown" if raw is None else raw.value
    return view


def attribute_values(name: str) -> dict[str, object]:
    """For a field rules read, each spelling of `case_values` -> the attribute value it
    stands for: the enum member (or None for a scalar without an `unknown` member),
    True/False/None for yes/no fields; for set fields, each member's spelling -> the member.

    The inverse of `case_values`, one field at a time: backends that read a case's
    attributes directly (`netaid.engines.python`) compile conditions with it.
    """
    spec = _FIELDS[name]
    if spec.kind in ("flag", "tristate"):
        spelled: dict[str, object] = {"true": True, "false": False, "unknown": None}
        return {v: spelled[v] for v in spec.values}
    enum = _SET_FIELDS[name] if spec.kind == "set" else _SCALAR_FIELDS[name]
    values: dict[str, object] = {m.value: m for m in enum}
    if spec.kind == "scalar" and "unknown" not in values:
        values["unknown"] = None
    return values


_FIELD_LABELS = {
    "site": "primary site",
    "cell_type": "cell type",
    "functional_status": "functional status",
    "completely_removed": "tumour completely removed",
    "carcinoid_heart_disease": "carcinoid heart disease",
    "diarrhoea_despite_ssa": "diarrhoea despite a somatostatin analogue",
    "inherited": "inherited syndromes",
}


def field_label(name: str) -> str:
    """A case field as people say it: "primary site", "cell type"."""
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def describe_value(value: str) -> str:
    """A field value as people say it: "yes", "small bowel"."""
    return {"true": "yes", "false": "no"}.get(value, value.replace("_", " "))


@dataclass(frozen=True)
class Incompatibility:
    fields: tuple[str, ...]
    message: str


def incompatibilities(values: Mapping[str, str | frozenset[str]]) -> list[Incompatibility]:
    """Why a combination of field values cannot describe a real case (empty if it can).

    Works on the `case_values` view so that the rulebook checker can ask the same question
    about partial combinations without building a Case for each.
    """
    found: list[Incompatibility] = []
    stage = values.get("stage", "unknown")
    metastases = values.get("metastases", frozenset())
    assert isinstance(metastases, frozenset)
    distant = sorted(m for m in metastases if m in _DISTANT)
    if distant and stage in ("localized", "regional"):
        found.append(
            Incompatibility(
                ("stage", "metastases"),
                f"distant metastases ({', '.join(distant)}) need stage metastatic or unknown,"
                f" not {stage}",
            )
        )
    if "lymph_nodes" in metastases and stage == "localized":
        found.append(
            Incompatibility(
                ("stage", "metastases"),
                "lymph node spread means the tumour is not localized",
            )
        )
    syndromes = values.get("syndromes", frozenset())
    if syndromes and values.get("functional_status") == "non_functioning":
        found.append(
            Incompatibility(
                ("functional_status", "syndromes"),
                "a hormone syndrome means the tumour is functioning, not non_functioning",
            )
        )
    cell_type = values.get("cell_type", "unknown")
    if cell_type != "unknown" and values.get("differentiation") == "well":
        found.append(
            Incompatibility(
                ("cell_type", "differentiation"),
                "cell_type (small or large cell) applies to poorly differentiated tumours only",
            )
        )
    return found


# --- reading cases ---


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ "; did you mean 'grade'?" for a misspelt field name, or "" when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def case_from_mapping(data: object, *, origin: str | None = None) -> Case:
    """Validate raw data into a Case, raising CaseError that names every faulty field."""
    if not isinstance(data, Mapping):
        raise CaseError(
            [FieldProblem("(case)", f"expected a mapping of fields, got {type(data).__name__}")],
            origin=origin,
        )
    return _validate(data, origin, typed=False)


def case_from_text(data: Mapping[str, object], *, origin: str | None = None) -> Case:
    """`case_from_mapping` for values typed as text: command-line flags, CSV cells.

    "unknown" also means not given for `cell_type`, `symptomatic` and `resectable` (see
    `text_value`), and error messages offer it instead of null; "none" alone means the
    empty set for a set field, and is refused beside members.
    """
    mixed = [p for name, v in data.items() if (p := _none_with_members(name, v)) is not None]
    if mixed:
        raise CaseError(mixed, origin=origin)
    return _validate({name: text_value(name, v) for name, v in data.items()}, origin, typed=True)


def _validate(data: Mapping[object, object], origin: str | None, *, typed: bool) -> Case:
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseError(_problems_from(exc, typed=typed), origin=origin) from None


def _problems_from(exc: ValidationError, *, typed: bool) -> list[FieldProblem]:
    problems = []
    hints = 0
    for error in exc.errors():
        loc = error["loc"]
        ctx = error.get("ctx") or {}
        if not loc:
            problems.append(FieldProblem(str(ctx.get("fields", "(case)")), error["msg"]))
            continue
        name = str(loc[0])
        if error["type"] == "extra_forbidden":
            # Suggestions only for the problems a message shows: difflib for each of 50,000
            # unknown keys took seconds.
            hints += 1
            hint = did_you_mean(name, Case.model_fields) if hints <= MAX_PROBLEMS_SHOWN else ""
            problems.append(FieldProblem(name, f"unknown field{hint}", error.get("input")))
            continue
        allowed = _allowed_inputs(name, typed=typed)
        message = error["msg"]
        if error.get("input") is not None and error["type"] not in ("missing",):
            message = f"{message}, got {shown(error['input'])}"
        problems.append(FieldProblem(name, message, error.get("input"), allowed))
    return problems


#: The spellings of yes and no that error messages offer. Pydantic accepts these in any case,
#: and also on/off, y/n, t/f, 1/0; YAML's unquoted yes/no/on/off are booleans already.
_YES_NO = ("true", "false", "yes", "no")


def _allowed_inputs(name: str, *, typed: bool = False) -> tuple[str, ...]:
    """The values a user may give for a field, for error messages.

    A field whose unknown is null also takes null (in a file or a mapping), or "unknown" when
    `typed` as text (a flag or a CSV cell, where there is no null); a set field typed as text
    also takes "none", for no members.
    """
    spec = _FIELDS.get(name)
    if spec is None:
        return ()
    values: tuple[str, ...]
    if spec.kind in ("flag", "tristate"):
        values = _YES_NO
    else:
        enum = _SET_FIELDS[name] if spec.kind == "set" else _SCALAR_FIELDS[name]
        values = tuple(m.value for m in enum)
    if name in NULL_WHEN_UNKNOWN:
        values += ("unknown",) if typed else ("null",)
    if typed and spec.kind == "set":
        values += (NO_MEMBERS,)
    return values


def load_case(source: str | Path) -> Case:
    """Read a case from a YAML or JSON file, or from standard input when source is "-"."""
    origin = "<stdin>" if str(source) == "-" else str(source)
    try:
        if str(source) == "-":
            text = sys.stdin.read(MAX_CASE_CHARS + 1)
        else:
            # A UTF-8 character is at most 4 bytes: enough to tell an overlong case.
            text = read_limited(source, 4 * MAX_CASE_CHARS).decode("utf-8")
    except TooLargeError:
        raise _too_long(origin) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CaseError([FieldProblem("(file)", f"cannot read: {reason}")], origin=origin) from None
    # The byte-order mark some editors write is not part of the case, whatever the format.
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_CASE_CHARS:
        raise _too_long(origin)
    return case_from_mapping(_parse(text, origin), origin=origin)


def _too_long(origin: str) -> CaseError:
    # A case is a few hundred bytes: stop reading rather than hold a huge input in memory.
    return CaseError(
        [FieldProblem("(file)", f"longer than {MAX_CASE_CHARS:,} characters; not a case")],
        origin=origin,
    )


def _parse(text: str, origin: str) -> object:
    try:
        if origin.endswith(".json"):
            return load_json(text)
        return load_yaml(text)
    except DuplicateKeyError as exc:
        raise CaseError([FieldProblem("(file)", str(exc))], origin=origin) from None
    except RecursionError:
        raise CaseError(
            [FieldProblem("(file)", "nested too deeply to be a case")], origin=origin
        ) from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CaseError(
            [FieldProblem("(file)", f"not valid YAML or JSON: {exc}")], origin=origin
        ) from None
    except ValueError as exc:
        # What the parser read but Python cannot build: a 30 February, an integer of more
        # than 4,300 digits.
        raise CaseError([FieldProblem("(file)", unbuildable(exc))], origin=origin) from None


def unbuildable(exc: ValueError) -> str:
    """Why a value a parser read cannot be built, in a user's words."""
    if "digits" in str(exc):
        return "a number has too many digits"
    return f"a value cannot be read: {str(exc)[:MAX_SHOWN]}"
