"""Schema building blocks shared by the built-in kinds: ObjectMeta and the other apimachinery
types, and small constructors that keep the kinds' schemas readable.

Lists that strategic merge patch merges carry the real `x-kubernetes-patch-strategy` /
`x-kubernetes-patch-merge-key` (see `merge_list`); both the patcher and the OpenAPI document
read them from here.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def obj(
    properties: dict[str, Schema] | None = None,
    *,
    required: tuple[str, ...] = (),
    preserve: bool = False,
    description: str = "",
) -> Schema:
    node: Schema = {"type": "object"}
    if description:
        node["description"] = description
    if properties is not None:
        node["properties"] = properties
    if required:
        node["required"] = list(required)
    if preserve:
        node["x-kubernetes-preserve-unknown-fields"] = True
    return node


def deep(description: str = "") -> Schema:
    """An object kept as sent: the schema stops here."""
    return obj(preserve=True, description=description)


def arr(items: Schema, **extensions: Any) -> Schema:
    return {"type": "array", "items": items, **extensions}


def merge_list(items: Schema, key: str | None) -> Schema:
    """A list that strategic merge patch merges by `key` (or, without a key, as a set).

    No `x-kubernetes-list-type` here: for built-in kinds the real server validates in Go and does
    not refuse, say, two conditions of one type, so neither may the schema.
    """
    node = arr(items, **{"x-kubernetes-patch-strategy": "merge"})
    if key:
        node["x-kubernetes-patch-merge-key"] = key
    return node


def string(description: str = "", **extra: Any) -> Schema:
    node: Schema = {"type": "string", **extra}
    if description:
        node["description"] = description
    return node


def integer(fmt: str = "int32") -> Schema:
    return {"type": "integer", "format": fmt}


BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
MICRO_TIME: Schema = {"type": "string", "format": "date-time", "description": "MicroTime"}
INT_OR_STRING: Schema = {"x-kubernetes-int-or-string": True}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
STRINGS: Schema = arr({"type": "string"})

# Missing owner fields are reported by objectmeta, in the real server's words, not here.
OWNER_REFERENCE = obj(
    {
        "apiVersion": string(),
        "kind": string(),
        "name": string(),
        "uid": string(),
        "controller": BOOLEAN,
        "blockOwnerDeletion": BOOLEAN,
    },
)

OBJECT_META = obj(
    {
        "name": string("Name must be unique within a namespace."),
        "generateName": string("Prefix the server uses to generate a unique name."),
        "namespace": string(),
        "selfLink": string(),
        "uid": string(),
        "resourceVersion": string(),
        "generation": integer("int64"),
        "creationTimestamp": TIME,
        "deletionTimestamp": TIME,
        "deletionGracePeriodSeconds": integer("int64"),
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "ownerReferences": merge_list(OWNER_REFERENCE, "uid"),
        "finalizers": merge_list({"type": "string"}, None),
        "managedFields": arr(deep()),
    },
    description="Standard object's metadata.",
)

OBJECT_REFERENCE = obj(
    {
        "kind": string(), "namespace": string(), "name": string(), "uid": string(),
        "apiVersion": string(), "resourceVersion": string(), "fieldPath": string(),
    }
)  # fmt: skip

LABEL_SELECTOR = obj(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": arr(
            obj(
                {"key": string(), "operator": string(), "values": STRINGS},
                required=("key", "operator"),
            )
        ),
    }
)


def condition(*time_fields: str) -> Schema:
    properties: dict[str, Schema] = {
        "type": string(),
        "status": string(),
        "reason": string(),
        "message": string(),
    }
    for name in time_fields:
        properties[name] = TIME
    return obj(properties, required=("type", "status"))


def with_meta(properties: dict[str, Schema], *, required: tuple[str, ...] = ()) -> Schema:
    """A whole object's schema: apiVersion, kind and metadata plus the kind's own fields."""
    return obj(
        {"apiVersion": string(), "kind": string(), "metadata": OBJECT_META, **properties},
        required=required,
    )
