"""`netaid review`: the rulebook as a sheet a clinical reviewer audits and signs off, rule by rule.

One entry per rule, in rulebook order: its id, kind, title and text; its condition in plain
words (`netaid._wording`); what the documents tie it to (`applies_when`) with their words for
when it applies; the content quotes with their sections and publishers; each side of a
contested rule; the rule's examples (a case, and the points it must and must not produce);
and an empty sign-off: reviewer, date, verdict, comment.

Three formats: Markdown, HTML (one self-contained, print-friendly file, everything escaped)
and CSV (one row per rule, for a spreadsheet; cells that a spreadsheet would read as a
formula are defused with a leading apostrophe).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from netaid._conditions import Always
from netaid._wording import describe_condition
from netaid.case import Case
from netaid.discussion import DISCLAIMER
from netaid.render._common import case_summary
from netaid.rulebook import Citation, Rule, Rulebook

__all__ = [
    "FORMATS",
    "SIGN_OFF",
    "ExampleLine",
    "Quote",
    "ReviewEntry",
    "ReviewSheet",
    "csv_cell",
    "render_review",
    "review_sheet",
]

FORMATS = ("markdown", "html", "csv")
#: The columns the reviewer fills in.
SIGN_OFF = ("reviewer", "date", "verdict", "comment")
VERDICTS = "faithful / change needed / unsafe"

INSTRUCTIONS = (
    "For each rule, check against the documents alone that the text says what its quotes "
    "say, that each quote supports the text, that the condition is the one the documents "
    "give (their words for when it applies are quoted), and that the examples fire where the "
    f"documents put the point. Then sign off: reviewer, date, verdict ({VERDICTS}) and a "
    "comment."
)


@dataclass(frozen=True)
class Quote:
    publisher: str
    source_id: str
    section: str
    quote: str
    says: str | None = None

    @property
    def cited(self) -> str:
        """The quote, its publisher and section: “quote” — publisher, section."""
        return f"“{self.quote}” — {self.publisher}, {self.section}"


@dataclass(frozen=True)
class ExampleLine:
    """One embedded example: its case in words, and the points it must and must not produce."""

    case: str
    produces: tuple[str, ...]
    not_produces: tuple[str, ...]

    @property
    def text(self) -> str:
        said = []
        if self.produces:
            said.append(f"produces {', '.join(self.produces)}")
        if self.not_produces:
            said.append(f"does not produce {', '.join(self.not_produces)}")
        return f"{self.case} → {'; '.join(said) or 'no expectation'}"


@dataclass(frozen=True)
class ReviewEntry:
    number: int
    id: str
    file: str
    kind: str
    category: str | None
    urgency: str
    title: str
    text: str
    condition: str
    #: False for a rule without `when:` (it applies to every case and needs no tie).
    restricted: bool
    ties: str | None
    ties_basis: str | None
    condition_quotes: tuple[Quote, ...]
    quotes: tuple[Quote, ...]
    contested: bool
    excludes: tuple[str, ...]
    examples: tuple[ExampleLine, ...]

    @property
    def sides(self) -> tuple[Quote, ...]:
        """Each side of a contested rule: the citations that say what their source holds."""
        return tuple(q for q in self.quotes if q.says)


@dataclass(frozen=True)
class ReviewSheet:
    rulebook_version: str
    directory: str
    entries: tuple[ReviewEntry, ...]


def review_sheet(rulebook: Rulebook) -> ReviewSheet:
    """The review sheet of a rulebook: one entry per rule, in rulebook order."""
    return ReviewSheet(
        rulebook_version=f"{rulebook.version}+{rulebook.fingerprint}",
        directory=str(rulebook.directory),
        entries=tuple(_entry(n, rule) for n, rule in enumerate(rulebook.rules, start=1)),
    )


def _quote(citation: Citation) -> Quote:
    source = citation.source
    return Quote(source.publisher, source.id, citation.section, citation.quote, citation.says)


def _example_case(data: dict[str, object]) -> str:
    try:
        case = Case.model_validate(data)
    except ValidationError:  # the loader refuses these; shown raw should one slip through
        return repr(data)
    return "; ".join(f"{label}: {value}" for label, value in case_summary(case)) or "no facts"


def _entry(number: int, rule: Rule) -> ReviewEntry:
    tie = rule.applies_when
    return ReviewEntry(
        number=number,
        id=rule.id,
        file=rule.file,
        kind=rule.kind.value,
        category=rule.category.value if rule.category else None,
        urgency=rule.urgency.value,
        title=rule.title,
        text=rule.text,
        condition=describe_condition(rule.condition),
        restricted=not isinstance(rule.condition, Always),
        ties=tie.ties if tie else None,
        ties_basis=tie.basis if tie else None,
        condition_quotes=tuple(_quote(c) for c in tie.citations) if tie else (),
        quotes=tuple(_quote(c) for c in rule.citations),
        contested=rule.contested,
        excludes=rule.excludes,
        examples=tuple(
            ExampleLine(_example_case(e.case), tuple(e.produces), tuple(e.not_produces))
            for e in rule.examples
        ),
    )


def render_review(sheet: ReviewSheet, fmt: str = "markdown") -> str:
    renderers: dict[str, Callable[[ReviewSheet], str]] = {
        "markdown": _markdown,
        "html": _html,
        "csv": _csv,
    }
    try:
        renderer = renderers[fmt]
    except KeyError:
        raise ValueError(f"unknown review format {fmt!r} (formats: {', '.join(FORMATS)})") from None
    return renderer(sheet)


def _kind_line(entry: ReviewEntry) -> str:
    kind = entry.kind + (f" ({entry.category})" if entry.category else "")
    parts = [kind, f"urgency {entry.urgency}", f"file {entry.file}"]
    if entry.contested:
        parts.append("contested")
    return " · ".join(parts)


def _tie_line(entry: ReviewEntry) -> str:
    if entry.ties is None:
        if not entry.restricted:
            return "applies to every case: no tie needed"
        return "MISSING: the rule is restricted but does not say what the documents tie it to"
    if entry.ties_basis == "profile":
        return f"shown because {entry.ties} (a fact the profile leaves open)"
    return entry.ties


# --- Markdown ---

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    """Text as Markdown shows it literally: no emphasis, links, HTML or table breaks."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_quote(quote: Quote) -> str:
    return f"“{_md(quote.quote)}” — {_md(quote.publisher)}, *{_md(quote.section)}*"


def _md_example(example: ExampleLine) -> str:
    said = []
    for label, ids in (("produces", example.produces), ("does not produce", example.not_produces)):
        if ids:
            said.append(f"{label} {', '.join(f'`{i}`' for i in ids)}")
    return f"{_md(example.case)} → {'; '.join(said) or 'no expectation'}"


def _markdown(sheet: ReviewSheet) -> str:
    out = [
        "# netaid rule review sheet",
        "",
        f"Rulebook {_md(sheet.rulebook_version)}, {len(sheet.entries)} rules. "
        f"{_md(DISCLAIMER.capitalize())}.",
        "",
        _md(INSTRUCTIONS),
    ]
    for e in sheet.entries:
        out += ["", "---", "", f"## {e.number}. `{e.id}` — {_md(e.title)}", ""]
        out += [f"*{_md(_kind_line(e))}*", "", f"**Text.** {_md(e.text)}", ""]
        out += [f"**Condition, in plain words.** {_md(e.condition)}", ""]
        out += [f"**The documents tie it to.** {_md(_tie_line(e))}"]
        out += [f"- {_md_quote(q)}" for q in e.condition_quotes]
        out += ["", "**Content quotes.**"]
        out += [f"{n}. {_md_quote(q)}" for n, q in enumerate(e.quotes, start=1)]
        if e.contested:
            out += ["", "**Contested: each side.**"]
            out += [f"- {_md(q.publisher)}: {_md(q.says or '')}" for q in e.sides]
        if e.excludes:
            out += ["", f"**Never together with.** {', '.join(f'`{x}`' for x in e.excludes)}"]
        out += ["", "**Examples.**" if e.examples else "**Examples.** none"]
        out += [f"- {_md_example(x)}" for x in e.examples]
        out += [
            "",
            "| " + " | ".join(s.capitalize() for s in SIGN_OFF) + " |",
            "|" + "---|" * len(SIGN_OFF),
            "|" + "   |" * len(SIGN_OFF),
        ]
    return "\n".join(out) + "\n"


# --- HTML ---

_CSS = """
body { font: 10pt/1.35 system-ui, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
p.meta { margin: .2em 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: .35em .5em; vertical-align: top; text-align: left; }
thead th { background: #eee; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.rule { width: 18%; } td.when { width: 22%; } td.says { width: 30%; }
td.examples { width: 15%; } td.signoff { width: 15%; }
code { font-size: .9em; word-break: break-all; }
.kind { color: #444; font-size: .9em; }
.label { font-weight: 600; }
ul, ol { margin: .2em 0; padding-left: 1.2em; }
blockquote { margin: .2em 0; }
.field { border-bottom: 1px solid #888; min-height: 1.6em; margin-bottom: .4em; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; } thead { display: table-header-group; } }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_quotes(quotes: Sequence[Quote], tag: str = "ul") -> str:
    if not quotes:
        return ""
    items = "".join(
        f"<li>“{_e(q.quote)}” — {_e(q.publisher)}, <i>{_e(q.section)}</i></li>" for q in quotes
    )
    return f"<{tag}>{items}</{tag}>"


def _html_row(e: ReviewEntry) -> str:
    rule = (
        f'<td class="rule"><b>{e.number}. {_e(e.title)}</b><br><code>{_e(e.id)}</code>'
        f'<div class="kind">{_e(_kind_line(e))}</div><p>{_e(e.text)}</p></td>'
    )
    when = (
        f'<td class="when"><div><span class="label">Condition:</span> {_e(e.condition)}</div>'
        f'<div><span class="label">The documents tie it to:</span> {_e(_tie_line(e))}</div>'
        f"{_html_quotes(e.condition_quotes)}</td>"
    )
    says = f'<td class="says">{_html_quotes(e.quotes, "ol")}'
    if e.contested:
        sides = "".join(f"<li>{_e(q.publisher)}: {_e(q.says or '')}</li>" for q in e.sides)
        says += f'<div class="label">Contested: each side</div><ul>{sides}</ul>'
    if e.excludes:
        says += (
            '<div><span class="label">Never together with:</span> '
            + ", ".join(f"<code>{_e(x)}</code>" for x in e.excludes)
            + "</div>"
        )
    says += "</td>"
    examples = "".join(f"<li>{_e(x.text)}</li>" for x in e.examples)
    examples_cell = f'<td class="examples">{f"<ul>{examples}</ul>" if examples else "none"}</td>'
    signoff = "".join(
        f'<div class="label">{_e(s.capitalize())}</div><div class="field"></div>' for s in SIGN_OFF
    )
    signoff_cell = f'<td class="signoff">{signoff}</td>'
    return f'<tr id="{_e(e.id)}">{rule}{when}{says}{examples_cell}{signoff_cell}</tr>'


def _html(sheet: ReviewSheet) -> str:
    rows = "\n".join(_html_row(e) for e in sheet.entries)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>netaid rule review sheet — rulebook {_e(sheet.rulebook_version)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        "<h1>netaid rule review sheet</h1>\n"
        f'<p class="meta">Rulebook {_e(sheet.rulebook_version)}, {len(sheet.entries)} rules. '
        f"{_e(DISCLAIMER.capitalize())}.</p>\n"
        f"<p>{_e(INSTRUCTIONS)}</p>\n"
        "<table>\n<thead><tr><th>Rule</th><th>When it applies</th>"
        "<th>Quotes and sources</th><th>Examples</th><th>Sign-off</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>\n</body>\n</html>\n"
    )


# --- CSV ---

CSV_COLUMNS = (
    "number",
    "id",
    "file",
    "kind",
    "category",
    "urgency",
    "title",
    "text",
    "condition",
    "applies_when",
    "applies_when_basis",
    "condition_quotes",
    "content_quotes",
    "contested",
    "contested_sides",
    "excludes",
    "examples",
    *SIGN_OFF,
)

#: What a spreadsheet may read as the start of a formula (OWASP's list: = + - @, tab, CR).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading
    apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(sheet: ReviewSheet) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in sheet.entries:
        row = [
            str(e.number),
            e.id,
            e.file,
            e.kind,
            e.category or "",
            e.urgency,
            e.title,
            e.text,
            e.condition,
            e.ties or "",
            e.ties_basis or "",
            "\n".join(q.cited for q in e.condition_quotes),
            "\n".join(q.cited for q in e.quotes),
            "yes" if e.contested else "no",
            "\n".join(f"{q.publisher}: {q.says}" for q in e.sides),
            "\n".join(e.excludes),
            "\n".join(x.text for x in e.examples),
            *("" for _ in SIGN_OFF),
        ]
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()
