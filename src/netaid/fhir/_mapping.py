"""The terminology of netaid.fhir, loaded from mapping.yaml and indexed for lookup.

The file is data, checked here once: every `means` names a Case field (with one of its values)
or one of the intermediate readings `_read` combines, so that a typo in the file fails loudly
at first use instead of mapping a code to nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from importlib import resources
from typing import Any

from netaid._yaml import load_yaml
from netaid.case import case_fields
from netaid.errors import NetaidError

__all__ = ["TEXT_EXTENSION", "Concept", "Mapping", "Table", "mapping", "normalize_code"]

#: Free text that a FHIR string cannot hold (NEL, a no-break space, as fhir.resources checks
#: strings), written as UTF-8 in base64 in an extension with this URL.
TEXT_EXTENSION = "urn:netaid:case:text"

#: Readings that are not Case fields, with their values: `_read` turns them into Case values.
TOKENS: dict[str, frozenset[str]] = {
    "tnm_m": frozenset({"M0", "M1"}),
    "tnm_n": frozenset({"N0", "N1"}),
    "stage_group": frozenset({"IV"}),
    "gene": frozenset({"men1", "men2", "vhl", "nf1", "tsc"}),
    "source_class": frozenset({"germline", "somatic"}),
    "significance": frozenset({"pathogenic", "not_pathogenic"}),
    "disease_status": frozenset({"ned", "evident", "undetermined"}),
}


@dataclass(frozen=True)
class Concept:
    """One entry of a table: a code (or a code prefix) and the values it means."""

    system: str  # canonical URL
    code: str | None
    prefix: str | None
    display: str
    means: tuple[tuple[str, str], ...]
    source: str
    verified: bool
    kind: str | None = None  # observation_kinds and variant_components only
    write: str | None = None  # the code written for a prefix entry
    read_only: bool = False  # says more than its Case value: never written

    @property
    def written_code(self) -> str:
        return self.code if self.code is not None else str(self.write or self.prefix)


class Table:
    """Codes to concepts: an exact code first, else the longest matching prefix."""

    def __init__(self, concepts: list[Concept]) -> None:
        self.concepts = tuple(concepts)
        self._exact: dict[tuple[str, str], Concept] = {}
        self._prefixes: dict[str, list[Concept]] = {}
        for concept in concepts:
            if concept.code is not None:
                self._exact.setdefault((concept.system, concept.code), concept)
            else:
                self._prefixes.setdefault(concept.system, []).append(concept)
        for entries in self._prefixes.values():
            entries.sort(key=lambda c: -len(str(c.prefix)))

    def lookup(self, system: str, code: str) -> Concept | None:
        found = self._exact.get((system, code))
        if found is not None:
            return found
        for concept in self._prefixes.get(system, ()):
            if code.startswith(str(concept.prefix)):
                return concept
        return None


_ICDO3_MORPHOLOGY = re.compile(r"^M?(\d{4})/?(\d)$")
_ICD_NO_DOT = re.compile(r"^([A-Z]\d[0-9A-Z])(\w+)$")


def normalize_code(system_key: str | None, code: str) -> str:
    """A code as the tables spell it: M8240/3 and 82403 are 8240/3; C7A012 is C7A.012."""
    code = code.strip()
    if system_key == "icdo3":
        match = _ICDO3_MORPHOLOGY.match(code.upper())
        if match:
            return f"{match[1]}/{match[2]}"
    if system_key in ("icdo3", "icd10cm"):
        code = code.upper()
        if "." not in code and "/" not in code:
            match = _ICD_NO_DOT.match(code)
            if match:
                return f"{match[1]}.{match[2]}"
    return code


@dataclass(frozen=True)
class Mapping:
    systems: dict[str, str]  # key -> URL
    names: dict[str, str]  # URL -> human name
    aliases: dict[str, str]  # other URL -> canonical URL
    sources: dict[str, str]
    profiles: dict[str, str]
    extensions: dict[str, str]
    observation_kinds: Table
    variant_components: Table
    tables: dict[str, Table]
    writing: dict[str, dict[str, Any]]

    @property
    def local(self) -> str:
        return self.systems["netaid"]

    def canonical(self, system: object) -> str | None:
        if not isinstance(system, str) or not system:
            return None
        return self.aliases.get(system, system)

    def key_of(self, url: str) -> str | None:
        for key, known in self.systems.items():
            if known == url:
                return key
        return None

    def known(self, url: str | None) -> bool:
        return url is not None and url in self.names

    def profile_kind(self, url: str) -> str | None:
        for kind, known in self.profiles.items():
            if known == url:
                return kind
        return None


class MappingFileError(NetaidError):
    """mapping.yaml is not what netaid.fhir expects: a bug in netaid's data, not in the input."""


def _concepts(
    entries: object, systems: dict[str, str], sources: dict[str, str], where: str
) -> list[Concept]:
    if not isinstance(entries, list):
        raise MappingFileError(f"mapping.yaml: {where}: expected a list")
    fields = case_fields()
    out = []
    for number, entry in enumerate(entries):
        at = f"mapping.yaml: {where}[{number}]"
        if not isinstance(entry, dict):
            raise MappingFileError(f"{at}: expected a mapping")
        system = systems.get(str(entry.get("system")))
        if system is None:
            raise MappingFileError(f"{at}: unknown system {entry.get('system')!r}")
        if ("code" in entry) == ("prefix" in entry):
            raise MappingFileError(f"{at}: give exactly one of code and prefix")
        if entry.get("source") not in sources:
            raise MappingFileError(f"{at}: unknown source {entry.get('source')!r}")
        means = entry.get("means", {})
        if not isinstance(means, dict):
            raise MappingFileError(f"{at}: means must be a mapping")
        for name, value in means.items():
            allowed = TOKENS.get(name)
            if allowed is None and name in fields:
                allowed = frozenset(fields[name].values)
            if allowed is None or str(value) not in allowed:
                raise MappingFileError(f"{at}: means {name}={value!r} is no Case value")
        if "prefix" in entry and "write" not in entry and where.startswith("tables."):
            raise MappingFileError(f"{at}: a prefix entry needs the code to `write`")
        raw_code = entry.get("code")
        raw_prefix = entry.get("prefix")
        out.append(
            Concept(
                system=system,
                code=None if raw_code is None else str(raw_code),
                prefix=None if raw_prefix is None else str(raw_prefix),
                display=str(entry.get("display", "")),
                means=tuple((str(k), str(v)) for k, v in means.items()),
                source=str(entry["source"]),
                verified=bool(entry.get("verified", False)),
                kind=None if entry.get("kind") is None else str(entry["kind"]),
                write=None if entry.get("write") is None else str(entry["write"]),
                read_only=bool(entry.get("read_only", False)),
            )
        )
    return out


@functools.cache
def mapping() -> Mapping:
    """The shipped mapping, loaded once."""
    text = resources.files("netaid.fhir").joinpath("mapping.yaml").read_text(encoding="utf-8")
    data = load_yaml(text)
    if not isinstance(data, MappingABC):
        raise MappingFileError("mapping.yaml: expected a mapping at the top")
    systems = {str(k): str(v["url"]) for k, v in data["systems"].items()}
    names = {str(v["url"]): str(v["name"]) for v in data["systems"].values()}
    aliases = {str(k): systems[str(v)] for k, v in data.get("system_aliases", {}).items()}
    sources = {str(k): str(v) for k, v in data["sources"].items()}
    tables = {
        str(name): Table(_concepts(entries, systems, sources, f"tables.{name}"))
        for name, entries in data["tables"].items()
    }
    writing: dict[str, dict[str, Any]] = {}
    for name, entry in data.get("writing", {}).items():
        spec = dict(entry)
        if "system" in spec:
            spec["system"] = systems[str(spec["system"])]
        writing[str(name)] = spec
    return Mapping(
        systems=systems,
        names=names,
        aliases=aliases,
        sources=sources,
        profiles={str(k): str(v) for k, v in data["profiles"].items()},
        extensions={str(k): str(v) for k, v in data["extensions"].items()},
        observation_kinds=Table(
            _concepts(data["observation_kinds"], systems, sources, "observation_kinds")
        ),
        variant_components=Table(
            _concepts(data["variant_components"], systems, sources, "variant_components")
        ),
        tables=tables,
        writing=writing,
    )
