"""A Discussion as CDS Hooks cards: one card per point, most pressing first.

Pure functions of the discussion, so that the service, its tests and its benchmark build the
same cards: `cards_for(discuss(case), ...)` is what the service answers for that case.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from netaid.discussion import DISCLAIMER, Discussion, Note, Point
from netaid.render._markdown import markdown_escape
from netaid.rulebook import Kind, Urgency

__all__ = [
    "INDICATORS",
    "MAX_SUMMARY",
    "TOPIC_SYSTEM",
    "cards_for",
    "case_query",
    "chosen",
    "problem_card",
]

#: CDS Hooks: "One-sentence, <140-character summary".
MAX_SUMMARY = 139
INDICATORS = {Urgency.INFO: "info", Urgency.WARNING: "warning", Urgency.URGENT: "critical"}
#: The code systems of `source.topic`: the point's category (treatments), else its kind.
TOPIC_SYSTEM = "urn:netaid:category"
KIND_SYSTEM = "urn:netaid:kind"
#: Card ids are name-based UUIDs of the hook instance and the point, so that the same call
#: gives the same ids, and no id says anything about the patient.
_CARD_NAMESPACE = uuid.UUID("4b5f0e0c-8a43-5b1e-9d6f-6e6574616964")


def _rank(point: Point) -> int:
    """Urgent points first, then treatment points, then the rest in the discussion's order."""
    if point.urgency is Urgency.URGENT:
        return 0
    return 1 if point.kind is Kind.TREATMENT else 2


def chosen(discussion: Discussion, max_cards: int) -> list[Point | Note]:
    """The points (and the notes, after the urgent and treatment points) shown as cards."""
    ordered = sorted(enumerate(discussion.points), key=lambda item: (_rank(item[1]), item[0]))
    first = [p for _, p in ordered if _rank(p) < 2]
    rest = [p for _, p in ordered if _rank(p) == 2]
    items: list[Point | Note] = [*first, *discussion.notes, *rest]
    return items[:max_cards]


def _summary(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_SUMMARY:
        return text
    return text[: MAX_SUMMARY - 1].rstrip() + "…"


def case_query(discussion: Discussion, audience: str = "tutor") -> str:
    """The tutor page's query string for the discussion's case (see `_form`)."""
    pairs: list[tuple[str, str]] = []
    for name, value in discussion.case.model_dump(mode="json", exclude_defaults=True).items():
        if name in ("title", "notes"):
            continue  # free text stays out of URLs
        if isinstance(value, list):
            pairs.extend((name, str(v)) for v in value)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    pairs.append(("audience", audience))
    return urlencode(pairs)


def _quote_lines(item: Point | Note) -> list[str]:
    lines = []
    for ref in item.sources:
        said = f" ({markdown_escape(ref.says)})" if ref.says else ""
        lines.append(
            f"> “{markdown_escape(ref.quote)}”  \n"
            f"> — {markdown_escape(ref.publisher)}, *{markdown_escape(ref.title)}*, "
            f"{markdown_escape(ref.section)}{said}"
        )
    return lines


def _detail(item: Point | Note, handout_url: str) -> str:
    why = "; ".join(b.text for b in item.because)
    parts = [markdown_escape(item.text)]
    if why:
        parts.append(f"**Why this applies:** {markdown_escape(why)}")
    if isinstance(item, Point) and item.contested:
        parts.append("**The documents disagree:**")
    parts.append("\n>\n".join(_quote_lines(item)))
    parts.append(f"*{markdown_escape(DISCLAIMER.capitalize())}.*")
    parts.append(f"[The full handout for this profile]({handout_url})")
    return "\n\n".join(p for p in parts if p)


def _card(item: Point | Note, handout_base: str, query: str) -> dict[str, Any]:
    anchor = f"h1-point-{item.id}" if isinstance(item, Point) else "h1-handout"
    handout_url = f"{handout_base}?{query}#{anchor}"
    first = item.sources[0] if item.sources else None
    label = f"{first.publisher}: {first.title}" if first else "netaid"
    if isinstance(item, Point):
        indicator = INDICATORS[item.urgency]
        if item.category is not None:
            topic = {
                "system": TOPIC_SYSTEM,
                "code": item.category.value,
                "display": item.category.value.replace("_", " "),
            }
        else:
            topic = {"system": KIND_SYSTEM, "code": item.kind.value, "display": item.kind.value}
    else:
        indicator = "info"
        topic = {"system": KIND_SYSTEM, "code": "note", "display": "note"}
    return {
        "summary": _summary(item.title),
        "indicator": indicator,
        "detail": _detail(item, handout_url),
        "source": {"label": _summary(label), "topic": topic},
        "links": [
            {"label": "Full handout (netaid tutor page)", "url": handout_url, "type": "absolute"}
        ],
    }


# The cards of the last discussions, without their ids: discussions are frozen and handed out
# again for equal cases (netaid._api), so a hit is the same object, checked by identity.
_CACHE_SIZE = 256
_cache: dict[tuple[int, str, int], tuple[Discussion, list[tuple[str, dict[str, Any]]]]] = {}
_cache_lock = threading.Lock()


def _templates(
    discussion: Discussion, handout_base: str, max_cards: int
) -> list[tuple[str, dict[str, Any]]]:
    key = (id(discussion), handout_base, max_cards)
    found = _cache.get(key)
    if found is not None and found[0] is discussion:
        return found[1]
    query = case_query(discussion)
    built = [(item.id, _card(item, handout_base, query)) for item in chosen(discussion, max_cards)]
    with _cache_lock:
        _cache[key] = (discussion, built)
        while len(_cache) > _CACHE_SIZE:
            del _cache[next(iter(_cache))]
    return built


def cards_for(
    discussion: Discussion, *, hook_instance: str, handout_base: str, max_cards: int
) -> list[dict[str, Any]]:
    """The cards for a discussion. `handout_base` is the tutor page's absolute URL."""
    return [
        {"uuid": str(uuid.uuid5(_CARD_NAMESPACE, f"{hook_instance}/{item_id}")), **card}
        for item_id, card in _templates(discussion, handout_base, max_cards)
    ]


def problem_card(summary: str, problems: Sequence[str]) -> dict[str, Any]:
    """One card saying why the record gave no profile netaid can discuss."""
    detail = "\n".join(f"- {markdown_escape(p)}" for p in problems)
    return {
        "summary": _summary(summary),
        "indicator": "info",
        "detail": f"{detail}\n\n*{DISCLAIMER.capitalize()}.*",
        "source": {"label": "netaid"},
    }
