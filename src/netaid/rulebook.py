"""The rulebook: rule files and their sources, checked as a whole when loaded.

Loading either returns a complete `Rulebook` or raises `RulebookError` listing every problem
found, each naming its file, rule id and location. Conditions are checked against the Case
model at load time, not when first used, so a rule that could never fire or reads a field
that does not exist never reaches the engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from netaid._cache import cached_parse
from netaid._conditions import (
    Condition,
    ConditionModel,
    Reason,
    compile_condition,
    holds,
    reasons,
    witness,
)
from netaid._files import TooLargeError, read_limited
from netaid._yaml import load_yaml
from netaid.case import Case, case_values, unbuildable
from netaid.errors import ConditionError, RulebookError, RuleProblem

__all__ = [
    "AppliesWhen",
    "Category",
    "Citation",
    "Kind",
    "PointKind",
    "Rule",
    "Rulebook",
    "Source",
    "Term",
    "Therapy",
    "Urgency",
    "default_rules_dir",
    "load_rulebook",
    "rule_file_schema",
]

MAX_QUOTE_WORDS = 25
#: A rule file is a few tens of kilobytes; anything this large is a mistake, not a rulebook.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Past this, more messages about the same file help nobody.
MAX_PROBLEMS_PER_FILE = 100
SOURCES_FILE = "sources.yaml"
#: Named conditions rules use as `{term: NAME}`; optional, and not a rule file.
TERMS_FILE = "terms.yaml"


class PointKind(StrEnum):
    """What a point is: a treatment to discuss, a test, a question for the care team, a
    warning sign, support, background (context), or a note (a flag or a gap)."""

    TREATMENT = "treatment"
    TEST = "test"
    QUESTION = "question"
    WARNING = "warning"
    SUPPORT = "support"
    CONTEXT = "context"
    NOTE = "note"


#: The old name of `PointKind`, kept so that existing code keeps working.
Kind = PointKind


class Urgency(StrEnum):
    """How pressing a point is: info, warning, or urgent (go now)."""

    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


class Category(StrEnum):
    """The kind of treatment a treatment point is about."""

    SURGERY = "surgery"
    DEBULKING_SURGERY = "debulking_surgery"
    WATCHFUL_WAITING = "watchful_waiting"
    SOMATOSTATIN_ANALOGUE = "somatostatin_analogue"
    TARGETED_THERAPY = "targeted_therapy"
    CHEMOTHERAPY = "chemotherapy"
    PRRT = "prrt"
    RADIOTHERAPY = "radiotherapy"
    IMMUNOTHERAPY = "immunotherapy"
    ABLATION = "ablation"
    LIVER_DIRECTED_THERAPY = "liver_directed_therapy"
    CLINICAL_TRIAL = "clinical_trial"
    SYNDROME_CONTROL = "syndrome_control"
    CARDIAC_CARE = "cardiac_care"
    SUPPORTIVE_CARE = "supportive_care"


class Therapy(StrEnum):
    """A named therapy a treatment point mentions."""

    OCTREOTIDE = "octreotide"
    TELOTRISTAT = "telotristat"
    CYPROHEPTADINE = "cyproheptadine"
    H1_ANTAGONIST = "h1_antagonist"
    PROTON_PUMP_INHIBITOR = "proton_pump_inhibitor"
    DIAZOXIDE = "diazoxide"
    EVEROLIMUS = "everolimus"
    SUNITINIB = "sunitinib"
    INTERFERON_ALPHA = "interferon_alpha"
    LUTETIUM_177 = "lutetium_177"
    CHECKPOINT_INHIBITOR = "checkpoint_inhibitor"
    HEPATIC_ARTERY_EMBOLISATION = "hepatic_artery_embolisation"
    RADIOFREQUENCY_ABLATION = "radiofrequency_ablation"
    SIRT = "sirt"
    MESENTERIC_RESECTION = "mesenteric_resection"
    VALVE_REPLACEMENT = "valve_replacement"


# --- the shape of the files, as written ---


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class SourceModel(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    file: str = Field(min_length=1, description="File name of the document in a corpus folder")
    publisher: str = Field(min_length=1)
    title: str = Field(min_length=1)
    reviewed: dt.date | None = Field(description="Review or update date the document states")
    reviewed_as_stated: str = Field(min_length=1)
    next_review: dt.date | None = Field(description="Next-review date the document states")


class SourcesFileModel(_Strict):
    rulebook_version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    sources: list[SourceModel] = Field(min_length=1)


class CitationModel(_Strict):
    source: str
    section: str
    quote: str
    says: str | None = Field(
        None, description="On contested rules: this source's side, in our own words"
    )

    _blank = field_validator("section", "quote")(_not_blank)

    @field_validator("quote")
    @classmethod
    def _short(cls, quote: str) -> str:
        words = len(quote.split())
        if words > MAX_QUOTE_WORDS:
            raise ValueError(f"quote has {words} words; at most {MAX_QUOTE_WORDS}")
        return quote


class AppliesWhenModel(_Strict):
    """Where the documents put a point: their words for *when* it applies.

    A rule that does not apply to every case says, in `ties`, what the documents tie it to
    (plain words: "slow-growing NETs that have spread but cause no symptoms") and cites the
    words in which they say so. `basis: profile` is for the few rules whose condition is about
    the profile itself (a fact it leaves unknown), not about what the documents say; those
    need no citation. `netaid lint` refuses a restricted rule without either.
    """

    ties: str = Field(description="What the documents tie this point to, in our own words")
    basis: Literal["documents", "profile"] = "documents"
    citations: list[CitationModel] = []

    _blank = field_validator("ties")(_not_blank)


class ExampleModel(_Strict):
    case: dict[str, Any]
    produces: list[str] = []
    not_produces: list[str] = []


class RuleModel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=120)
    kind: Kind
    category: Category | None = None
    therapies: list[Therapy] = []
    title: str
    text: str
    urgency: Urgency = Urgency.INFO
    when: ConditionModel | None = None
    applies_when: AppliesWhenModel | None = None
    citations: list[CitationModel] = Field(min_length=1)
    contested: bool = False
    excludes: list[str] = []
    examples: list[ExampleModel] = []

    _blank = field_validator("title", "text")(_not_blank)


class RuleFileModel(_Strict):
    rules: list[RuleModel]


class TermModel(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    label: str = Field(description="The term in plain words, e.g. 'the tumour has spread'")
    when: ConditionModel

    _blank = field_validator("label")(_not_blank)


class TermsFileModel(_Strict):
    terms: list[TermModel]


def rule_file_schema() -> dict[str, Any]:
    """JSON Schema of a rule file, for editors and for `netaid schema --rules`."""
    schema = RuleFileModel.model_json_schema()
    schema["title"] = "netaid rule file"
    return schema


# --- the loaded rulebook ---


@dataclass(frozen=True)
class Source:
    id: str
    file: str
    publisher: str
    title: str
    reviewed: dt.date | None
    reviewed_as_stated: str
    next_review: dt.date | None

    def past_review(self, today: dt.date) -> bool:
        """Has the next-review date the document states for itself passed?"""
        return self.next_review is not None and self.next_review < today


@dataclass(frozen=True)
class Citation:
    source: Source
    section: str
    quote: str
    says: str | None = None


@dataclass(frozen=True)
class AppliesWhen:
    """The documents' own condition for a rule: what they tie it to, and their words."""

    ties: str
    basis: Literal["documents", "profile"]
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Rule:
    """One rule of the rulebook: a point (or note) the documents tie to a condition on the
    case, with its citations. `condition` is compiled and checked against the Case model."""

    id: str
    file: str
    kind: Kind
    category: Category | None
    therapies: tuple[Therapy, ...]
    title: str
    text: str
    urgency: Urgency
    condition: Condition = field(repr=False)
    citations: tuple[Citation, ...]
    contested: bool = False
    excludes: tuple[str, ...] = ()
    examples: tuple[ExampleModel, ...] = ()
    applies_when: AppliesWhen | None = None

    def applies_to(self, case: Case) -> bool:
        """Plain-Python truth of the rule's condition (the engine is the fast path)."""
        return holds(self.condition, case_values(case))

    def reasons(self, case: Case) -> tuple[Reason, ...]:
        return reasons(self.condition, case_values(case))


@dataclass(frozen=True)
class Term:
    """A named condition of `terms.yaml`, which rules use as `{term: NAME}`."""

    name: str
    label: str
    condition: Condition = field(repr=False)


@dataclass(frozen=True)
class Rulebook:
    """A loaded, checked rulebook: its rules, the sources they cite and the terms they use.
    Immutable; `fingerprint` is a digest of its files."""

    version: str
    fingerprint: str
    sources: Mapping[str, Source]
    rules: tuple[Rule, ...]
    directory: Path
    terms: Mapping[str, Term] = field(default_factory=dict)
    _by_id: Mapping[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


def default_rules_dir() -> Path:
    """The rulebook shipped with netaid: inside the package when installed from a wheel,
    the repository's `rules/` folder in a source checkout."""
    packaged = Path(str(resources.files("netaid"))) / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


def _parse_yaml(raw: bytes) -> Any:
    return load_yaml(raw.decode("utf-8"))


def load_rulebook(directory: str | Path | None = None) -> Rulebook:
    """Load and check every rule file of a rulebook folder, all or nothing."""
    root = Path(directory) if directory is not None else default_rules_dir()
    loader = _Loader(root)
    rulebook = loader.load()
    if loader.problems:
        raise RulebookError(loader.problems)
    assert rulebook is not None
    return rulebook


_M = TypeVar("_M", bound=BaseModel)


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[RuleProblem] = []
        self.digest = hashlib.sha256()

    def problem(
        self, file: str, message: str, rule_id: str | None = None, location: str | None = None
    ) -> None:
        self.problems.append(RuleProblem(file, message, rule_id, location))

    def load(self) -> Rulebook | None:
        if not self.root.is_dir():
            self.problem(str(self.root), "rulebook folder not found")
            return None
        sources_file = self._read_sources()
        not_rules = (SOURCES_FILE, TERMS_FILE)
        rule_files = sorted(p for p in self.root.glob("*.yaml") if p.name not in not_rules)
        if not rule_files:
            self.problem(str(self.root), "no rule files (*.yaml besides sources.yaml, terms.yaml)")
        terms = self._read_terms()
        if sources_file is None:
            return None
        sources = {
            s.id: Source(
                s.id, s.file, s.publisher, s.title, s.reviewed, s.reviewed_as_stated, s.next_review
            )
            for s in sources_file.sources
        }
        models: list[tuple[str, RuleModel]] = []
        for path in rule_files:
            parsed = self._read(path, RuleFileModel)
            if parsed is not None:
                models.extend((path.name, rule) for rule in parsed.rules)
        conditions = {name: term.condition for name, term in terms.items()}
        rules = self._compile(models, sources, conditions)
        return Rulebook(
            version=sources_file.rulebook_version,
            fingerprint=self.digest.hexdigest()[:12],
            sources=sources,
            rules=tuple(rules),
            directory=self.root,
            terms=terms,
        )

    def _read_terms(self) -> dict[str, Term]:
        """The terms of `terms.yaml`, in file order. A term may use the terms above it, so
        terms can never be defined in a circle."""
        path = self.root / TERMS_FILE
        terms: dict[str, Term] = {}
        if not path.is_file():
            return terms
        parsed = self._read(path, TermsFileModel)
        if parsed is None:
            return terms
        for i, model in enumerate(parsed.terms):
            where = f"terms[{i}] ({model.name})"
            if model.name in terms:
                self.problem(TERMS_FILE, f"term {model.name!r} defined twice", location=where)
                continue
            try:
                condition = compile_condition(
                    model.when, "when", {n: t.condition for n, t in terms.items()}
                )
            except ConditionError as exc:
                self.problem(TERMS_FILE, exc.message, location=f"{where}.{exc.location}")
                continue
            if witness(condition) is None:
                self.problem(
                    TERMS_FILE, "this condition can never be true for a valid case", location=where
                )
                continue
            terms[model.name] = Term(model.name, " ".join(model.label.split()), condition)
        return terms

    def _read_sources(self) -> SourcesFileModel | None:
        path = self.root / SOURCES_FILE
        if not path.is_file():
            self.problem(SOURCES_FILE, "missing: the rulebook must register its sources")
            return None
        parsed = self._read(path, SourcesFileModel)
        if parsed is not None:
            seen: set[str] = set()
            for source in parsed.sources:
                if source.id in seen:
                    self.problem(SOURCES_FILE, f"source id {source.id!r} registered twice")
                seen.add(source.id)
        return parsed

    def _read(self, path: Path, model: type[_M]) -> _M | None:
        try:
            try:
                raw = read_limited(path, MAX_FILE_BYTES)
            except TooLargeError:
                self.problem(path.name, f"larger than {MAX_FILE_BYTES:,} bytes; not read")
                return None
            self.digest.update(path.name.encode() + b"\0" + raw + b"\0")
            data = cached_parse(raw, _parse_yaml)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.problem(path.name, f"cannot read as YAML: {exc}")
            return None
        except RecursionError:
            self.problem(path.name, "cannot read as YAML: nested too deeply")
            return None
        except ValueError as exc:  # read, but not buildable: a 30 February, a huge integer
            self.problem(path.name, f"cannot read as YAML: {unbuildable(exc)}")
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            for error in errors[:MAX_PROBLEMS_PER_FILE]:
                rule_id, location = _locate(data, error["loc"])
                self.problem(path.name, error["msg"], rule_id, location)
            if len(errors) > MAX_PROBLEMS_PER_FILE:
                self.problem(
                    path.name, f"and {len(errors) - MAX_PROBLEMS_PER_FILE:,} more problems"
                )
            return None

    def _compile(
        self,
        models: list[tuple[str, RuleModel]],
        sources: Mapping[str, Source],
        terms: Mapping[str, Condition],
    ) -> list[Rule]:
        first_file: dict[str, str] = {}
        rules: list[Rule] = []
        for file, model in models:
            if model.id in first_file:
                self.problem(file, f"duplicate rule id (also in {first_file[model.id]})", model.id)
                continue
            first_file[model.id] = file
            rule = self._compile_rule(file, model, sources, terms)
            if rule is not None:
                rules.append(rule)
        for rule in rules:
            for i, example in enumerate(rule.examples):
                for other in (*example.produces, *example.not_produces):
                    if other not in first_file:
                        self.problem(
                            rule.file,
                            f"example names unknown rule {other!r}",
                            rule.id,
                            f"examples[{i}]",
                        )
            for other in rule.excludes:
                if other not in first_file:
                    self.problem(rule.file, f"excludes unknown rule {other!r}", rule.id, "excludes")
                elif other == rule.id:
                    self.problem(rule.file, "a rule cannot exclude itself", rule.id, "excludes")
        return rules

    def _compile_rule(
        self,
        file: str,
        model: RuleModel,
        sources: Mapping[str, Source],
        terms: Mapping[str, Condition],
    ) -> Rule | None:
        ok = True

        def fail(message: str, location: str | None = None) -> None:
            nonlocal ok
            ok = False
            self.problem(file, message, model.id, location)

        if model.kind is Kind.TREATMENT and model.category is None:
            fail("a treatment needs a category", "category")
        if model.kind is not Kind.TREATMENT and (model.category or model.therapies):
            fail(f"only treatments have a category and therapies, not a {model.kind.value}")
        citations = []
        for i, c in enumerate(model.citations):
            source = sources.get(c.source)
            if source is None:
                fail(
                    f"unknown source {c.source!r} (sources: {', '.join(sources)})",
                    f"citations[{i}].source",
                )
                continue
            if c.says is not None and not model.contested:
                fail("`says` belongs to contested rules only", f"citations[{i}].says")
            citations.append(Citation(source, c.section.strip(), c.quote.strip(), c.says))
        applies_when = None
        if model.applies_when is not None:
            tie = model.applies_when
            tie_citations = []
            for i, c in enumerate(tie.citations):
                where = f"applies_when.citations[{i}]"
                source = sources.get(c.source)
                if source is None:
                    fail(f"unknown source {c.source!r} (sources: {', '.join(sources)})", where)
                    continue
                if c.says is not None:
                    fail("`says` belongs to a contested rule's citations", f"{where}.says")
                tie_citations.append(Citation(source, c.section.strip(), c.quote.strip()))
            if tie.basis == "documents" and not tie.citations:
                fail(
                    "cite the documents' words for when this applies (or say basis: profile)",
                    "applies_when.citations",
                )
            if model.when is None:
                fail("a rule without `when:` applies to every case; drop applies_when", "when")
            applies_when = AppliesWhen(" ".join(tie.ties.split()), tie.basis, tuple(tie_citations))
        if model.contested:
            cited = {c.source for c in model.citations}
            if len(cited) < 2:
                fail("a contested rule cites at least two different sources", "citations")
            if any(not (c.says or "").strip() for c in model.citations):
                fail("every citation of a contested rule says what its source holds", "citations")
        try:
            condition = compile_condition(model.when, "when", terms)
        except ConditionError as exc:
            fail(exc.message, exc.location)
            return None
        try:
            if witness(condition) is None:
                fail("this condition can never be true for a valid case", "when")
        except ConditionError as exc:  # past the search's budget
            fail(exc.message, exc.location)
        for i, example in enumerate(model.examples):
            try:
                Case.model_validate(example.case)
            except ValidationError as exc:
                fail(f"example case is not valid: {exc.errors()[0]['msg']}", f"examples[{i}].case")
        if not ok:
            return None
        return Rule(
            id=model.id,
            file=file,
            kind=model.kind,
            category=model.category,
            therapies=tuple(model.therapies),
            title=model.title.strip(),
            text=" ".join(model.text.split()),
            urgency=model.urgency,
            condition=condition,
            citations=tuple(citations),
            contested=model.contested,
            excludes=tuple(model.excludes),
            examples=tuple(model.examples),
            applies_when=applies_when,
        )


def _locate(data: object, loc: tuple[int | str, ...]) -> tuple[str | None, str | None]:
    """Turn a Pydantic error location into (rule id, readable path) for the message."""
    rule_id = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            raw_id = rules[loc[1]].get("id")
            rule_id = str(raw_id) if raw_id is not None else f"#{loc[1] + 1} (no id)"
        loc = loc[2:]
    path = ""
    if len(loc) >= 2 and loc[0] == "terms" and isinstance(loc[1], int) and isinstance(data, dict):
        terms = data.get("terms")
        if isinstance(terms, list) and loc[1] < len(terms) and isinstance(terms[loc[1]], dict):
            path = f"terms[{loc[1]}] ({terms[loc[1]].get('name', 'no name')})"
            loc = loc[2:]
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"function-after\[.*\]|tagged-union\[.*\]", str(part)):
            continue
        else:
            path += f".{part}" if path else str(part)
    return rule_id, path or None
