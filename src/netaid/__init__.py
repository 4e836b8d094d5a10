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
from netaid.discussion import (
    DISCLAIMER,
    Because,
    Discussion,
    IfKnown,
    Note,
    Point,
    PointRef,
    SourceRef,
    Unmet,
    WhyNot,
)
from netaid.engines import Engine, Evaluation, available_engines, make_engine
from netaid.engines.durable import DurableEngine
from netaid.engines.python import PythonEngine
from netaid.errors import (
    CaseError,
    CheckError,
    ConditionError,
    EngineError,
    EngineLimitError,
    NetaidError,
    RenderError,
    RulebookError,
    UnknownPointError,
)
from netaid.render import FORMATS, render
from netaid.rulebook import (
    Category,
    Kind,
    PointKind,
    Rule,
    Rulebook,
    Term,
    Therapy,
    Urgency,
    load_rulebook,
)

# The public API, exactly (docs/api.md; pinned by tests/unit/test_public_api.py).
__all__ = [
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
