"""Checking the rulebook's citations against the documents themselves.

The documents are never part of netaid: the folder holding them is given at run time, and
`rules/sources.yaml` maps each source id to its file name there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netaid._files import read_limited
from netaid.rulebook import Rulebook

__all__ = ["QuoteProblem", "check_quotes", "normalise"]


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
        for citation in rule.citations:
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
