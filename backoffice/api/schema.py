"""The OpenAPI schema tells the truth about errors: every operation lists the statuses it can
answer, each with the API's one error body (``backoffice.api.errors``).

Added by a drf-spectacular post-processing hook rather than on each view, so a new endpoint
cannot forget them. Which statuses: every call may be refused as malformed (400: a bad query
parameter or body, a character that cannot be stored), unauthenticated (401), not allowed
(403: role, store, missing second factor) or not found (404: another merchant's object, an
unknown ``X-Merchant``). Requests that move money add 409 (an idempotency key reused for another
request, a decision already taken), 422 (an amount or state that does not allow it) and 429
(too many password attempts on an approval).
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "code", "message", "fields"],
            "properties": {
                "type": {"type": "string", "description": "Stable and coarse: what a client switches on."},
                "code": {"type": "string", "description": "Finer than type."},
                "message": {"type": "string", "description": "For people."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Input fields and their problems (empty when none).",
                },
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "Malformed request: a query parameter, header or body field that is not valid.",
    "401": "No valid API key nor session.",
    "403": "Not allowed for this key or person (role, store, second factor, four eyes).",
    "404": "Not found, or not visible to this key or person.",
    "409": "Conflicts with an earlier request (idempotency key reused, decision already taken).",
    "422": "Understood, but the payment's amounts or state do not allow it.",
    "429": "Too many attempts; try again later.",
}
_ALWAYS = ("400", "401", "403", "404")
_MONEY = ("409", "422")


def _statuses(path: str, method: str) -> tuple[str, ...]:
    if method != "post":
        return _ALWAYS
    if path.endswith("/approve"):
        return (*_ALWAYS, "409", "422", "429")
    if path.endswith("/reject"):
        return (*_ALWAYS, "409")
    return (*_ALWAYS, *_MONEY)


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    parameter["schema"] = dict(IDEMPOTENCY_KEY)  # one rule for every endpoint taking one
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method):
                content = {"application/json": {"schema": reference}}
                responses.setdefault(status, {"description": _DESCRIPTIONS[status], "content": content})
    for name in CLOSED_BODIES:
        if name in components:
            components[name]["additionalProperties"] = False  # unknown fields are refused (400)
    body = components.get("OperationRequestRequest")
    if body is not None:
        # "other" needs a comment saying why (payments.services.operations).
        reasons = [r for r in body["properties"]["reason"].get("enum", []) if r != "other"]
        if not reasons and "$ref" in body["properties"]["reason"]:
            enum = components.get(body["properties"]["reason"]["$ref"].rsplit("/", 1)[-1], {})
            reasons = [r for r in enum.get("enum", []) if r != "other"]
        if reasons:
            body["anyOf"] = [
                {"properties": {"reason": {"enum": reasons}}},
                {"required": ["comment"], "properties": {"comment": {"pattern": SAYS_SOMETHING}}},
            ]
    return result


# COMPONENT_SPLIT_REQUEST names request bodies "<ref_name>Request".
CLOSED_BODIES = ("OperationRequestRequest", "OperationDecisionRequest")


IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]([ -~]*[!-~])?$"}
"""Printable ASCII without surrounding spaces (they are stripped), at most the stored length."""

# Patterns the schema states for input the API validates by hand, so that what the schema calls
# valid is what the API accepts (schemathesis checks both ways).
STORABLE_TEXT = r"^[^\x00]*$"
"""No NUL (``backoffice.untrusted``; unpaired surrogates are refused too, and cannot be written in a
schema pattern that generators honour)."""
SAYS_SOMETHING = r"^[^\x00]*[^\s\x00][^\x00]*$"
"""Storable text that is not blank."""
POSITIVE_AMOUNT = r"^(?:[1-9][0-9]{0,9}(?:[.,][0-9]{1,2})?|0[.,](?:[1-9][0-9]?|0[1-9]))$"
"""A positive amount with at most two decimals, below ten thousand million (``payments.services.
operations.parse_amount``; currencies with other minor units are checked by the API itself)."""
