"""netaid: the discussion points trusted patient-education documents associate with a
neuroendocrine tumour profile, every point sourced and explained.

Educational only — not medical advice.

    >>> import netaid
    >>> discussion = netaid.discuss({"site": "pancreas", "stage": "metastatic"})
"""

from netaid._api import default_engine, discuss
from netaid._parallel import discuss_many
from netaid._version import __version__ as __version__
from netaid.case import (
    Case,
    CellType,
    Differentiation,
    FunctionalStatus,
    Grade,
    Inherited,
    Metastasis,
    Site,
    Stage,
    Syndrome,
    case_from_mapping,
    load_case,
)
from netaid.discussion import DISCLAIMER, Because, Discussion, Note, Point, SourceRef
from netaid.engines import Engine, Evaluation, available_engines, make_engine
from netaid.engines.durable import DurableEngine
from netaid.engines.python import PythonEngine
from netaid.errors import (
    CaseError,
    EngineError,
    EngineLimitError,
    NetaidError,
    RenderError,
    RulebookError,
)
from netaid.render import FORMATS, render
from netaid.rulebook import Category, Kind, Rule, Rulebook, Therapy, Urgency, load_rulebook

__all__ = [
    "DISCLAIMER",
    "FORMATS",
    "Because",
    "Case",
    "CaseError",
    "Category",
    "CellType",
    "Differentiation",
    "Discussion",
    "DurableEngine",
    "Engine",
    "EngineError",
    "EngineLimitError",
    "Evaluation",
    "FunctionalStatus",
    "Grade",
    "Inherited",
    "Kind",
    "Metastasis",
    "NetaidError",
    "Note",
    "Point",
    "PythonEngine",
    "RenderError",
    "Rule",
    "Rulebook",
    "RulebookError",
    "Site",
    "SourceRef",
    "Stage",
    "Syndrome",
    "Therapy",
    "Urgency",
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
