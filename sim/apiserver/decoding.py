"""Request bodies: JSON or YAML in, and decode errors worded like Go's encoding/json.

Clients show the server's message verbatim, so a malformed body is reported the way a real
kube-apiserver (written in Go) reports it, e.g. `couldn't get version/kind; json parse error:
unexpected end of JSON input`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from sim.apiserver import errors

JSON = "application/json"
YAML = "application/yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"

CUSTOM_RESOURCE_BODY_TYPES = (JSON, YAML)
BUILTIN_BODY_TYPES = (JSON, YAML, PROTOBUF)
CUSTOM_RESOURCE_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
BUILTIN_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def decode_json(raw: bytes, *, prefix: str = "") -> Any:
    """Parse JSON or raise 400 with Go's wording after `prefix`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.bad_request(prefix + "invalid character in JSON input (not UTF-8)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise errors.bad_request(prefix + go_json_message(error)) from None
    except RecursionError:
        raise errors.bad_request(prefix + "exceeded max depth") from None


def decode_yaml(raw: bytes, *, prefix: str = "") -> Any:
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise errors.bad_request(prefix + f"error converting YAML to JSON: {error}") from None


def decode_object(raw: bytes, content_type: str) -> Any:
    """A create/update body: JSON unless YAML is declared."""
    if media_type(content_type) == YAML:
        return decode_yaml(raw, prefix="couldn't get version/kind; ")
    if not raw.strip():
        raise errors.bad_request("couldn't get version/kind; json parse error: unexpected end of "
                                 "JSON input")  # fmt: skip
    return decode_json(raw, prefix="couldn't get version/kind; json parse error: ")


def go_json_message(error: json.JSONDecodeError) -> str:
    """Translate Python's JSON error into the sentence Go's decoder would write."""
    text = error.doc
    position = error.pos
    if position >= len(text.rstrip()):
        return "unexpected end of JSON input"
    found = _quote_char(text[position])
    message = error.msg
    if message.startswith("Expecting property name"):
        return f"invalid character {found} looking for beginning of object key string"
    if message.startswith("Expecting ':' delimiter"):
        return f"invalid character {found} after object key"
    if message.startswith("Expecting ',' delimiter"):
        context = _enclosing(text, position)
        if context == "[":
            return f"invalid character {found} after array element"
        return f"invalid character {found} after object key:value pair"
    if message.startswith("Extra data"):
        return f"invalid character {found} after top-level value"
    if message.startswith(("Unterminated string", "Invalid control character")):
        return "unexpected end of JSON input"
    if message.startswith("Invalid \\escape"):
        return f"invalid character {found} in string escape code"
    return f"invalid character {found} looking for beginning of value"


def _quote_char(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char.isprintable():
        return f"'{char}'"
    return repr(char)


def _enclosing(text: str, position: int) -> str:
    """The innermost open bracket before `position` (ignoring strings, roughly)."""
    depth: list[str] = []
    in_string = False
    escaped = False
    for char in text[:position]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth.append(char)
        elif char in "]}" and depth:
            depth.pop()
    return depth[-1] if depth else ""
