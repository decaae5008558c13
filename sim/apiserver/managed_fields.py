"""`metadata.managedFields`: which manager set which fields, and when, as a real server records it.

Every create, update and patch names a manager: the `fieldManager` query parameter, or else the
client's User-Agent up to its first `/` (`kubectl-annotate/v1.37.1 (linux/amd64) ...` ->
`kubectl-annotate`), as the real server derives it. One entry per (manager, operation,
subresource): `Update` for create/update/patch, `Apply` for server-side apply. A write gives its
manager every field it added or changed, takes those fields away from every other entry, drops
fields the object no longer has, and stamps the entry's `time` when it changed something;
entries left owning nothing disappear. Field sets are FieldsV1 (`{"f:metadata":
{"f:annotations": {"f:kcanary.io/action": {}}}}`); lists are owned whole, as atomic lists are.

Controllers read this to learn who asked for something and when (kcanary reads who set its
`kcanary.io/action` annotation).
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.timestamps import format_time, now

FieldSet = dict[str, Any]

MAX_MANAGER_LENGTH = 128
# Metadata the server sets or that identifies the object: nobody "manages" these.
_UNMANAGED_METADATA = frozenset(
    {
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
    }
)  # fmt: skip
_UNMANAGED_TOP = frozenset({"apiVersion", "kind"})


def manager_name(field_manager: str | None, user_agent: str) -> str:
    """The manager a write is recorded under."""
    if field_manager:
        return field_manager
    return user_agent.split("/", 1)[0][:MAX_MANAGER_LENGTH]


def _fields(value: Any) -> FieldSet:
    if isinstance(value, dict) and value:
        return {f"f:{key}": _fields(child) for key, child in value.items()}
    return {}


def fields_of(obj: dict[str, Any]) -> FieldSet:
    """The FieldsV1 set of everything a client can set in `obj`."""
    top: FieldSet = {}
    for key, value in obj.items():
        if key in _UNMANAGED_TOP:
            continue
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in _UNMANAGED_METADATA}
            if meta:
                top["f:metadata"] = _fields(meta)
            continue
        top[f"f:{key}"] = _fields(value)
    return top


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> FieldSet:
    """The fields of `new` that `old` did not have, or had with another value."""
    if old is None:
        return fields_of(new)
    return _changed(_client_view(old), _client_view(new))


def _client_view(obj: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in obj.items() if k not in _UNMANAGED_TOP}
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        view["metadata"] = {k: v for k, v in metadata.items() if k not in _UNMANAGED_METADATA}
    return view


def _changed(old: Any, new: Any) -> FieldSet:
    result: FieldSet = {}
    for key, value in new.items():
        before = old.get(key, _MISSING) if isinstance(old, dict) else _MISSING
        if before == value:
            continue
        if isinstance(value, dict) and value and isinstance(before, dict):
            inner = _changed(before, value)
            if inner:  # a map that only lost keys: nobody gains ownership
                result[f"f:{key}"] = inner
        else:
            result[f"f:{key}"] = _fields(value)
    return result


_MISSING = object()


def _union(a: FieldSet, b: FieldSet) -> FieldSet:
    merged = dict(a)
    for key, child in b.items():
        merged[key] = _union(merged[key], child) if key in merged else child
    return merged


def _without(owned: FieldSet, taken: FieldSet) -> FieldSet:
    """`owned` less every field in `taken` (a taken leaf takes everything under it)."""
    kept: FieldSet = {}
    for key, child in owned.items():
        if key not in taken:
            kept[key] = child
            continue
        if not taken[key]:
            continue  # the whole field (and anything below it) changed hands
        if child:
            rest = _without(child, taken[key])
            if rest:
                kept[key] = rest
    return kept


def _within(owned: FieldSet, present: FieldSet) -> FieldSet:
    """`owned` limited to fields that still exist (`present`)."""
    kept: FieldSet = {}
    for key, child in owned.items():
        if key not in present:
            continue
        if not child:  # the field itself is owned, whatever it holds now
            kept[key] = child
            continue
        rest = _within(child, present[key])
        if rest:  # owned only through children: gone with the last of them
            kept[key] = rest
    return kept


def record_write(
    new: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    manager: str,
    operation: str,
    subresource: str = "",
    applied: FieldSet | None = None,
) -> None:
    """Set `new["metadata"]["managedFields"]` for a write by `manager` that turned `old` into
    `new` (`old` None: a create). `applied` is the field set of a server-side apply body."""
    entries = [
        dict(entry)
        for entry in ((old or {}).get("metadata") or {}).get("managedFields") or []
        if isinstance(entry, dict)
    ]
    changed = changed_fields(old, new)
    taken = _union(changed, applied) if applied else changed
    present = fields_of(new)
    mine: dict[str, Any] | None = None
    kept: list[dict[str, Any]] = []
    for entry in entries:
        same = (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (
            manager,
            operation,
            subresource,
        )
        owned = _within(entry.get("fieldsV1") or {}, present)
        if same:
            mine = entry
            entry["fieldsV1"] = owned
        else:
            entry["fieldsV1"] = _within(_without(owned, taken), present)
        kept.append(entry)
    if taken:
        if mine is None:
            mine = {"manager": manager, "operation": operation}
            kept.append(mine)
        base = {} if applied is not None else mine.get("fieldsV1") or {}
        mine["apiVersion"] = str(new.get("apiVersion", ""))
        mine["time"] = format_time(now())
        mine["fieldsType"] = "FieldsV1"
        mine["fieldsV1"] = _within(_union(base, taken), present)
        if subresource:
            mine["subresource"] = subresource
    result = [_ordered(entry) for entry in kept if entry.get("fieldsV1")]
    metadata = new.setdefault("metadata", {})
    if result:
        metadata["managedFields"] = result
    else:
        metadata.pop("managedFields", None)


_ENTRY_ORDER = ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1")


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: entry[key] for key in _ENTRY_ORDER if key in entry}
    ordered.update({k: v for k, v in entry.items() if k not in ordered})
    return ordered
