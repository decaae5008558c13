"""The three patch formats a kube-apiserver accepts for PATCH requests.

`json_patch` is RFC 6902 and `merge_patch` RFC 7386, worded as the JSON-patch library the real
server uses words its errors, because clients (kubectl, the Python client) show those messages
as they are. `strategic_merge_patch` is carried out by `strategic_merge`; it is reached from here so
the server has one module to import for patching.

Every function returns a new document and never changes its inputs: the store keeps the old
object for watch events and conflict checks.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.apiserver.resources import ResourceType


class PatchError(Exception):
    """A patch that cannot be applied; the server answers with a Status carrying `message`.

    `code` is the HTTP status the real server gives: 400 BadRequest when the patch document
    itself is malformed (not a list of operations, an operation without `op`, a bad directive
    format), 422 Unprocessable when a well-formed patch does not apply to this object (a missing
    path, a failed `test`, a list item without its merge key).
    """

    def __init__(self, message: str, *, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_MISSING = object()


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge `patch` into `target`, which the caller owns (copied once, not at every level)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            existing = target.get(key)
            if not isinstance(existing, dict):
                existing = {}
                target[key] = existing
            _merge_into(existing, value)
        else:
            target[key] = copy.deepcopy(value)


def json_patch(doc: Any, operations: Any) -> Any:
    """Apply an RFC 6902 operation list to a copy of `doc` and return it."""
    if not isinstance(operations, list):
        raise PatchError(
            f"json: cannot unmarshal {_json_kind(operations)} into Go value of type "
            "jsonpatch.Patch",
            code=400,
        )
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError(
                f"json: cannot unmarshal {_json_kind(operation)} into Go value of type "
                "jsonpatch.Operation",
                code=400,
            )
        result = _apply_operation(result, operation)
    return result


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "array"


def _apply_operation(doc: Any, operation: dict[str, Any]) -> Any:
    kind = operation.get("op")
    path = operation.get("path")
    if not isinstance(path, str):
        raise PatchError(f"{kind} operation does not apply: missing path field", code=400)
    if kind == "add":
        return _add(doc, path, _value_of(operation))
    if kind == "remove":
        doc, _ = _remove(doc, path, "remove")
        return doc
    if kind == "replace":
        return _replace(doc, path, _value_of(operation))
    if kind in ("move", "copy"):
        source = operation.get("from")
        if not isinstance(source, str):
            raise PatchError(f"{kind} operation does not apply: missing from field", code=400)
        value = _get(doc, source)
        if value is _MISSING:
            raise PatchError(
                f"{kind} operation does not apply: doc is missing from path: {source}: "
                "missing value"
            )
        if kind == "move":
            if path.startswith(source + "/"):
                raise PatchError(f"move operation does not apply: {path} is a child of {source}")
            doc, _ = _remove(doc, source, "move")
        return _add(doc, path, copy.deepcopy(value))
    if kind == "test":
        current, expected = _get(doc, path), _value_of(operation)
        # As the server's JSON-patch library: a missing member tests equal to null.
        if not (_json_equal(current, expected) or (current is _MISSING and expected is None)):
            raise PatchError(f"testing value {path} failed: test failed")
        return doc
    raise PatchError(f"Unexpected kind: {kind}: unknown object type", code=400)


def _json_equal(left: Any, right: Any) -> bool:
    """Equality of decoded JSON: `1` equals `1.0` (both are numbers) but never `true`."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    numbers = isinstance(left, int | float) and isinstance(right, int | float)
    same_kind = numbers or type(left) is type(right)
    return left is not _MISSING and same_kind and bool(left == right)


def _value_of(operation: dict[str, Any]) -> Any:
    if "value" not in operation:
        raise PatchError(
            f"{operation.get('op')} operation does not apply: missing value field", code=400
        )
    return copy.deepcopy(operation["value"])


def _tokens(path: str) -> list[str]:
    """Split a JSON pointer into unescaped reference tokens (`~1` is `/`, `~0` is `~`)."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {path}', code=400)
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _array_index(token: str, length: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"Unable to access invalid index: {token}: invalid index referenced")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise PatchError(f"Unable to access invalid index: {index}: invalid index referenced")
    return index


def _get(doc: Any, path: str) -> Any:
    node = doc
    for token in _tokens(path):
        if isinstance(node, dict):
            node = node.get(token, _MISSING)
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _parent(doc: Any, path: str, verb: str) -> tuple[Any, str]:
    """The container that holds the last token of `path`, and that token."""
    tokens = _tokens(path)
    parent = _get(doc, "".join("/" + _escape(t) for t in tokens[:-1]))
    if parent is _MISSING or not isinstance(parent, dict | list):
        raise PatchError(
            f'{verb} operation does not apply: doc is missing path: "{path}": missing value'
        )
    return parent, tokens[-1]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _add(doc: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    parent, token = _parent(doc, path, "add")
    if isinstance(parent, dict):
        parent[token] = value
    else:
        parent.insert(_array_index(token, len(parent), allow_end=True), value)
    return doc


def _remove(doc: Any, path: str, verb: str) -> tuple[Any, Any]:
    """Remove `path`; returns the document and the removed value."""
    if path == "":
        raise PatchError(f"{verb} operation does not apply: cannot remove the whole document")
    parent, token = _parent(doc, path, verb)
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f"Unable to remove nonexistent key: {token}: missing value")
        return doc, parent.pop(token)
    if not token.isdigit() or int(token) >= len(parent):
        raise PatchError(f"Unable to remove invalid index: {token}: invalid index referenced")
    return doc, parent.pop(int(token))


def _replace(doc: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    parent, token = _parent(doc, path, "replace")
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(
                f"replace operation does not apply: doc is missing key: {path}: missing value"
            )
        parent[token] = value
    else:
        if not token.isdigit() or int(token) >= len(parent):
            raise PatchError(f"Unable to access invalid index: {token}: invalid index referenced")
        parent[int(token)] = value
    return doc


def strategic_merge_patch(doc: Any, patch: Any, rtype: ResourceType) -> Any:
    """Kubernetes strategic merge patch of a built-in kind (see `strategic_merge`)."""
    # Imported here because strategic_merge raises this module's PatchError.
    from sim.apiserver.strategic_merge import apply_strategic_merge

    return apply_strategic_merge(doc, patch, rtype)
