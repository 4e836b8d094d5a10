"""JSON Schemas of the CDS Hooks 2.0 shapes, written from the specification's tables
(https://cds-hooks.hl7.org/2.0/): discovery, request, response (cards), feedback, and the
OperationOutcome an error answers with. REQUIRED fields are required; enumerations are closed.
"""

from __future__ import annotations

from typing import Any

import jsonschema

CODING = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "string"},
        "system": {"type": "string"},
        "display": {"type": "string"},
    },
}

DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "description", "id"],
                "properties": {
                    "hook": {"type": "string", "minLength": 1},
                    "title": {"type": "string"},
                    "description": {"type": "string", "minLength": 1},
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._~-]+$"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                    "usageRequirements": {"type": "string"},
                },
            },
        }
    },
}

LINK = {
    "type": "object",
    "required": ["label", "url", "type"],
    "properties": {
        "label": {"type": "string"},
        "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "type": {"enum": ["absolute", "smart"]},
        "appContext": {"type": "string"},
        "autolaunchable": {"type": "boolean"},
    },
}

SOURCE = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": {"type": "string", "minLength": 1},
        "url": {"type": "string", "format": "uri"},
        "icon": {"type": "string", "format": "uri"},
        "topic": CODING,
    },
}

ACTION = {
    "type": "object",
    "required": ["type", "description"],
    "properties": {
        "type": {"enum": ["create", "update", "delete"]},
        "description": {"type": "string"},
        "resource": {"type": "object"},
        "resourceId": {"type": "string"},
    },
}

CARD = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": {"type": "string"},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": SOURCE,
        "suggestions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": {"type": "string"},
                    "uuid": {"type": "string"},
                    "isRecommended": {"type": "boolean"},
                    "actions": {"type": "array", "items": ACTION},
                },
            },
        },
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "items": {**CODING, "required": ["code", "display"]}},
        "links": {"type": "array", "items": LINK},
    },
    # "If suggestions are present, selectionBehavior SHALL also be provided."
    "dependentRequired": {"suggestions": ["selectionBehavior"]},
}

RESPONSE = {
    "type": "object",
    "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": CARD},
        "systemActions": {"type": "array", "items": ACTION},
    },
}

REQUEST = {
    "type": "object",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string"},
        "hookInstance": {"type": "string"},
        "fhirServer": {"type": "string", "format": "uri"},
        "fhirAuthorization": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope", "subject"],
            "properties": {"token_type": {"const": "Bearer"}},
        },
        "context": {"type": "object", "required": ["patientId"]},
        "prefetch": {"type": "object"},
    },
    "dependentRequired": {"fhirAuthorization": ["fhirServer"]},
}

FEEDBACK = {
    "type": "object",
    "required": ["feedback"],
    "properties": {
        "feedback": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["card", "outcome", "outcomeTimestamp"],
                "properties": {
                    "card": {"type": "string"},
                    "outcome": {"enum": ["accepted", "overridden"]},
                    "acceptedSuggestions": {
                        "type": "array",
                        "items": {"type": "object", "required": ["id"]},
                    },
                    "overrideReason": {
                        "type": "object",
                        "properties": {"reason": CODING, "userComment": {"type": "string"}},
                    },
                    "outcomeTimestamp": {"type": "string", "format": "date-time"},
                },
            },
        }
    },
}

OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code", "details"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "details": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string", "minLength": 1}},
                    },
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

#: The JSON API's errors (every endpoint but CDS Hooks).
API_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message", "problems"],
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string", "minLength": 1},
                "problems": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string", "minLength": 1}},
                    },
                },
            },
        }
    },
}

_FORMATS = jsonschema.FormatChecker()


def check(instance: object, schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `instance` has the shape."""
    jsonschema.Draft202012Validator(schema, format_checker=_FORMATS).validate(instance)
