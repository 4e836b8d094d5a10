"""Self-contained HTML handouts: inline CSS, no scripts, no network assets, print-ready."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from netaid.discussion import Discussion, change_text
from netaid.render._common import (
    IF_KNOWN_TITLE,
    INTRO,
    capfirst,
    case_summary,
    citation_flag,
    cited_sections,
    cited_sources,
    if_known_groups,
    provenance,
    review_text,
    sections,
    source_numbers,
    tie_lead,
)
from netaid.render._worksheet import worksheet

if TYPE_CHECKING:
    import jinja2


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only when a template is rendered: it is most of the CLI's start-up

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("netaid", "templates"),
        # Every template this environment loads is HTML: escape everything, always.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["capfirst"] = capfirst
    env.globals.update(
        review_text=review_text,
        citation_flag=citation_flag,
        tie_lead=tie_lead,
        intro=INTRO,
        provenance=provenance,
        change_text=change_text,
        if_known_title=IF_KNOWN_TITLE,
    )
    return env


def _handout(discussion: Discussion, audience: str, index: int) -> dict[str, Any]:
    view: dict[str, Any] = {
        "audience": audience,
        # Element ids are prefixed per handout so that a combined file has no duplicates.
        "prefix": f"h{index}-",
        "case": discussion.case,
        "summary": case_summary(discussion.case),
        "disclaimer": discussion.disclaimer,
        "rulebook_version": discussion.rulebook_version,
        "as_of": discussion.as_of,
        "engine": discussion.engine,
    }
    if audience == "student":
        view["w"] = worksheet(discussion)
    else:
        view.update(
            d=discussion,
            sections=sections(discussion),
            numbers=source_numbers(discussion),
            sources=cited_sources(discussion),
            cited_sections=cited_sections(discussion),
            if_known=if_known_groups(discussion),
        )
    return view


def render_html_many(discussions: Sequence[Discussion], *, audience: str = "tutor") -> str:
    handouts = [_handout(d, audience, i) for i, d in enumerate(discussions, start=1)]
    first = handouts[0]
    if len(handouts) == 1:
        title = first["case"].title or "NET case discussion"
    else:
        title = f"{len(handouts)} NET cases"
    return (
        _environment()
        .get_template("handout.html.j2")
        .render(
            title=title,
            audience=audience,
            handouts=handouts,
            disclaimer=first["disclaimer"],
            rulebook_version=first["rulebook_version"],
            as_of=first["as_of"],
            engine=first["engine"],
        )
    )


def render_html(discussion: Discussion, *, audience: str = "tutor") -> str:
    return render_html_many([discussion], audience=audience)
