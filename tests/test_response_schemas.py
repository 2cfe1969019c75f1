"""Every API route documents what a client receives on success (issue 15, point 6).

Walks the OpenAPI document the API serves and fails for any operation whose 2xx answer has no typed
schema: no ``response=`` model at all, a bare ``dict``/``Any``, or a list of those.  A route that answers
with a file (PDF, XLSX, CSV) documents its content type instead (``openapi_extra``) and passes as such.
"""

from __future__ import annotations

from ippledge.api import api

BINARY_TYPES = ("application/pdf", "text/csv",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip")


def _schema():
    return api.get_openapi_schema()


def _resolve(doc, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _typed(doc, schema, depth=0) -> bool:
    """A schema says what comes back: an object with properties, an array of typed items, or a choice
    of typed schemas. ``{}`` (Any) and ``{"type": "object"}`` without properties (a bare dict) do not."""
    if depth > 20 or not isinstance(schema, dict):
        return False
    schema = _resolve(doc, schema)
    for choice in ("anyOf", "oneOf", "allOf"):
        if choice in schema:
            options = [s for s in schema[choice] if _resolve(doc, s).get("type") != "null"]
            return bool(options) and all(_typed(doc, s, depth + 1) for s in options)
    kind = schema.get("type")
    if kind == "array":
        return _typed(doc, schema.get("items", {}), depth + 1)
    if kind == "object" or "properties" in schema:
        return bool(schema.get("properties"))
    return False


def _untyped_operations():
    doc = _schema()
    bad = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            success = {s: r for s, r in operation.get("responses", {}).items() if str(s).startswith("2")}
            if not success:
                bad.append((method.upper(), path, operation.get("operationId"), "no 2xx answer documented"))
                continue
            for status, answer in success.items():
                if status == "204":
                    continue
                content = answer.get("content") or {}
                if not content:
                    bad.append((method.upper(), path, operation.get("operationId"), f"{status}: no schema"))
                    continue
                for media_type, body in content.items():
                    if media_type in BINARY_TYPES:
                        continue
                    if not _typed(doc, body.get("schema", {})):
                        bad.append((method.upper(), path, operation.get("operationId"),
                                    f"{status} {media_type}: untyped schema {body.get('schema')}"))
    return bad


def test_every_route_has_a_typed_success_schema():
    bad = _untyped_operations()
    assert not bad, "routes without a typed 2xx response schema:\n" + "\n".join(
        f"  {m} {p} ({op}): {why}" for m, p, op, why in bad)
