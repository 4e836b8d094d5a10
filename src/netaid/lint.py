"""Checking the rulebook's citations against the documents themselves.

The documents are never part of netaid: the folder holding them is given at run time, and
`rules/sources.yaml` maps each source id to its file name there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netaid._conditions import All, Always, AnyOf, Condition, Leaf, Not
from netaid._files import read_limited
from netaid.rulebook import Citation, Rule, Rulebook

__all__ = ["ConditionProblem", "QuoteProblem", "check_conditions", "check_quotes", "normalise"]

#: The one field a `basis: profile` condition may read besides unknowns: a removed tumour is in
#: follow-up, which is a fact about the profile, not a condition any document states.
_PROFILE_FIELDS = frozenset({"completely_removed"})


class NotInCorpusError(Exception):
    """A source's file name leads outside the corpus folder."""


def normalise(text: str) -> str:
    """Whitespace folded to single spaces: the documents' line breaks are extraction noise."""
    return " ".join(text.split())


@dataclass(frozen=True)
class QuoteProblem:
    rule_id: str
    source_id: str
    quote: str
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule_id!r}: source {self.source_id!r}: {self.message}: {self.quote!r}"


#: The largest document read; the patient-education documents are a few hundred KB.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def document_path(corpus: Path, file: str) -> Path | None:
    """Where a source's document is in the corpus, or None if its name leads outside it
    (`../../etc/passwd`, an absolute path, a symlink out): lint reads nothing else."""
    root = corpus.resolve()
    path = (root / file).resolve()
    return path if path.is_relative_to(root) and path != root else None


def check_quotes(rulebook: Rulebook, corpus: str | Path) -> list[QuoteProblem]:
    """Every citation whose quote is not found, verbatim, in the document it cites."""
    folder = Path(corpus)
    texts: dict[str, str | None] = {}
    for source in rulebook.sources.values():
        path = document_path(folder, source.file)
        try:
            if path is None:
                raise NotInCorpusError
            texts[source.id] = normalise(read_limited(path, MAX_DOCUMENT_BYTES).decode("utf-8"))
        except (OSError, UnicodeDecodeError, NotInCorpusError):
            texts[source.id] = None
    problems = []
    for rule in rulebook.rules:
        for citation in _citations(rule):
            text = texts[citation.source.id]
            if text is None:
                problems.append(
                    QuoteProblem(
                        rule.id,
                        citation.source.id,
                        citation.quote,
                        f"document {citation.source.file} not readable in {folder}",
                    )
                )
            elif normalise(citation.quote) not in text:
                problems.append(
                    QuoteProblem(
                        rule.id,
                        citation.source.id,
                        citation.quote,
                        "quote not found in the document",
                    )
                )
    return problems


def _citations(rule: Rule) -> tuple[Citation, ...]:
    """A rule's content quotes and the quotes of its condition: both must be verbatim."""
    tie = rule.applies_when.citations if rule.applies_when is not None else ()
    return (*rule.citations, *tie)


@dataclass(frozen=True)
class ConditionProblem:
    rule_id: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: rule {self.rule_id!r}: {self.message}"


def check_conditions(rulebook: Rulebook) -> list[ConditionProblem]:
    """Restricted rules that do not say, in the documents' words, when they apply.

    A point applies exactly where the documents say it does, so every rule with a `when:`
    cites the words that put it there (`applies_when`). The only exception is a condition
    about the profile itself (`basis: profile`): it may test nothing but unknown facts and
    complete removal, since anything else would be a clinical condition that needs a source.
    """
    problems = []
    for rule in rulebook.rules:
        if isinstance(rule.condition, Always):
            continue
        tie = rule.applies_when
        if tie is None:
            problems.append(
                ConditionProblem(
                    rule.id,
                    rule.file,
                    "applies to some cases only but cites no words for when "
                    "(add applies_when: ties and citations)",
                )
            )
            continue
        if tie.basis == "profile":
            clinical = sorted(_clinical_fields(rule.condition))
            if clinical:
                problems.append(
                    ConditionProblem(
                        rule.id,
                        rule.file,
                        f"basis: profile, but the condition reads {', '.join(clinical)} "
                        "beyond whether it is known: cite the documents' words instead",
                    )
                )
    return problems


def _clinical_fields(condition: Condition) -> set[str]:
    """The fields a condition reads for their value, not only for being known."""
    match condition:
        case Always():
            return set()
        case Leaf(field=field, op=op, values=values):
            if field in _PROFILE_FIELDS or op == "is_known" or values == ("unknown",):
                return set()
            return {field}
        case Not(child=child):
            return _clinical_fields(child)
        case All(children=children) | AnyOf(children=children):
            return set().union(*(_clinical_fields(c) for c in children))
