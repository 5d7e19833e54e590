"""The part of JSON Schema a trial check needs: type, properties, required, items, enum,
minimum/maximum, minLength, additionalProperties (false). Anything else is refused when the set
is read, so a schema never passes by being half understood."""

from __future__ import annotations

from typing import Any

KNOWN = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "additionalProperties",
    "description",
    "title",
    "$schema",
}
TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}


class SchemaError(ValueError):
    pass


def check_schema(schema: Any, where: str = "schema") -> None:
    if not isinstance(schema, dict):
        raise SchemaError(f"{where} is not an object")
    unknown = set(schema) - KNOWN
    if unknown:
        raise SchemaError(f"{where} uses {', '.join(sorted(unknown))} (not supported)")
    kinds = schema.get("type", [])
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind not in TYPES:
            raise SchemaError(f"{where}.type {kind!r} is not a JSON type")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{where}.properties.{name}")
    if "items" in schema:
        check_schema(schema["items"], f"{where}.items")


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in `value` breaks `schema`, each naming its place ($.key[0])."""
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        is_bool = isinstance(value, bool)
        if not any(
            isinstance(value, TYPES[k]) and (k == "boolean" or not is_bool) for k in allowed
        ):
            return [f"{where} is not {' or '.join(allowed)}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where} is above {schema['maximum']}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{where} is shorter than {schema['minLength']}")
    if isinstance(value, dict):
        problems += [
            f"{where} lacks {key!r}" for key in schema.get("required", []) if key not in value
        ]
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key in value:
                problems += violations(value[key], sub, f"{where}.{key}")
        if schema.get("additionalProperties") is False:
            problems += [
                f"{where} has unexpected {key!r}" for key in value if key not in properties
            ]
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += violations(item, schema["items"], f"{where}[{index}]")
    return problems
