"""JSON schemas as Gemini's `Schema`: the OpenAPI 3.0 subset it accepts.

Tools' parameters and `json_schema` response formats both pass through here; keys Gemini
would refuse with a 400 are left out rather than failing the request.
"""

from __future__ import annotations

from typing import Any

# JSON-schema keys Gemini's `Schema` rejects (it takes an OpenAPI 3.0 subset).
_SCHEMA_KEYS_DROPPED = frozenset(
    {
        "additionalProperties",
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "$comment",
        "definitions",
        "examples",
        "strict",
        "const",
        "patternProperties",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
        "if",
        "then",
        "else",
        "not",
        "contentEncoding",
        "contentMediaType",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "uniqueItems",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "dependencies",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$anchor",
    }
)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def gemini_schema(schema: Any) -> Any:
    """A JSON schema in the OpenAPI subset Gemini accepts: unsupported keys left out."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_KEYS_DROPPED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = gemini_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out["anyOf" if key == "oneOf" else key] = [gemini_schema(sub) for sub in value]
        elif key == "type" and isinstance(value, list):
            # ["string", "null"] is OpenAPI's nullable string.
            kinds = [k for k in value if k != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]
            if "null" in value:
                out["nullable"] = True
        elif key == "enum" and not all(isinstance(v, str) for v in value or ()):
            continue  # Gemini's enum values are strings only
        else:
            out[key] = value
    return out
