"""Kubernetes protobuf request bodies for the simple built-in kinds.

kubectl's typed commands (`kubectl create configmap`, `create secret`, `create namespace`,
`create serviceaccount`, `create role`, `auth can-i`) send
built-in objects as `application/vnd.kubernetes.protobuf`: the `k8s\\x00` magic, then a
`runtime.Unknown` envelope holding the object's own protobuf message. This decodes the wire
format against the field numbers of the Go types (from their generated.proto) into the JSON
object the rest of the server works with. Kinds not described here are refused with 415.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"

# A field: (json name, type). Types: "string", "bytes", "int", "bool", "strings" (repeated
# string), "string-map", "bytes-map", "time", "micro-time", or a message name from _MESSAGES,
# prefixed with "*" when repeated.
Field = tuple[str, str]

_MESSAGES: dict[str, dict[int, Field]] = {
    "ObjectMeta": {
        1: ("name", "string"),
        2: ("generateName", "string"),
        3: ("namespace", "string"),
        4: ("selfLink", "string"),
        5: ("uid", "string"),
        6: ("resourceVersion", "string"),
        7: ("generation", "int"),
        8: ("creationTimestamp", "time"),
        9: ("deletionTimestamp", "time"),
        10: ("deletionGracePeriodSeconds", "int"),
        11: ("labels", "string-map"),
        12: ("annotations", "string-map"),
        13: ("ownerReferences", "*OwnerReference"),
        14: ("finalizers", "strings"),
    },
    "OwnerReference": {
        1: ("kind", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("controller", "bool"),
        7: ("blockOwnerDeletion", "bool"),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "string-map"),
        3: ("binaryData", "bytes-map"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "bytes-map"),
        3: ("type", "string"),
        4: ("stringData", "string-map"),
        5: ("immutable", "bool"),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "NamespaceSpec"),
        3: ("status", "NamespaceStatus"),
    },
    "NamespaceSpec": {1: ("finalizers", "strings")},
    "NamespaceStatus": {1: ("phase", "string")},
    "Lease": {1: ("metadata", "ObjectMeta"), 2: ("spec", "LeaseSpec")},
    "LeaseSpec": {
        1: ("holderIdentity", "string"),
        2: ("leaseDurationSeconds", "int"),
        3: ("acquireTime", "micro-time"),
        4: ("renewTime", "micro-time"),
        5: ("leaseTransitions", "int"),
        6: ("strategy", "string"),
        7: ("preferredHolder", "string"),
    },
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta"),
        2: ("secrets", "*ObjectReference"),
        3: ("imagePullSecrets", "*LocalObjectReference"),
        4: ("automountServiceAccountToken", "bool"),
    },
    "ObjectReference": {
        1: ("kind", "string"),
        2: ("namespace", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("resourceVersion", "string"),
        7: ("fieldPath", "string"),
    },
    "LocalObjectReference": {1: ("name", "string")},
    "PolicyRule": {
        1: ("verbs", "strings"),
        2: ("apiGroups", "strings"),
        3: ("resources", "strings"),
        4: ("resourceNames", "strings"),
        5: ("nonResourceURLs", "strings"),
    },
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", "*PolicyRule")},
    "RoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "*Subject"),
        3: ("roleRef", "RoleRef"),
    },
    "Subject": {
        1: ("kind", "string"),
        2: ("apiGroup", "string"),
        3: ("name", "string"),
        4: ("namespace", "string"),
    },
    "RoleRef": {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")},
    "SelfSubjectAccessReview": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "SelfSubjectAccessReviewSpec"),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "string"),
        2: ("verb", "string"),
        3: ("group", "string"),
        4: ("version", "string"),
        5: ("resource", "string"),
        6: ("subresource", "string"),
        7: ("name", "string"),
    },
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int"),
        2: ("preconditions", "Preconditions"),
        3: ("orphanDependents", "bool"),
        4: ("propagationPolicy", "string"),
        5: ("dryRun", "strings"),
    },
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
}

# (apiVersion, kind) -> top-level message
DECODABLE = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Namespace"): "Namespace",
    ("coordination.k8s.io/v1", "Lease"): "Lease",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("v1", "DeleteOptions"): "DeleteOptions",
}


class ProtobufError(ValueError):
    """A body that is not a Kubernetes protobuf object this server can read."""


def decode_object(raw: bytes) -> tuple[dict[str, Any] | None, str, str]:
    """(object or None when its kind is not decodable here, apiVersion, kind)."""
    if not raw.startswith(MAGIC):
        raise ProtobufError("provided object is not a protobuf encoded Kubernetes object")
    envelope = _fields(raw[len(MAGIC) :])
    type_meta = _fields(_one(envelope, 1, b""))
    api_version = _one(type_meta, 1, b"").decode()
    kind = _one(type_meta, 2, b"").decode()
    message = DECODABLE.get((api_version, kind))
    if message is None:
        return None, api_version, kind
    obj = _decode(_one(envelope, 2, b""), message)
    return {"apiVersion": api_version, "kind": kind, **obj}, api_version, kind


def _one(fields: dict[int, list[Any]], number: int, default: Any) -> Any:
    values = fields.get(number)
    return values[-1] if values else default


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> dict[int, list[Any]]:
    """Field number -> values (ints for varints, bytes for length-delimited)."""
    fields: dict[int, list[Any]] = {}
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, position = _varint(data, position)
        elif wire == 2:
            length, position = _varint(data, position)
            value = data[position : position + length]
            if len(value) != length:
                raise ProtobufError("truncated field")
            position += length
        elif wire == 1:
            value, position = int.from_bytes(data[position : position + 8], "little"), position + 8
        elif wire == 5:
            value, position = int.from_bytes(data[position : position + 4], "little"), position + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes, *, micro: bool) -> str | None:
    fields = _fields(data)
    seconds = _signed(_one(fields, 1, 0))
    nanos = _one(fields, 2, 0)
    if seconds == 0 and nanos == 0:
        return None  # Go's zero time, which JSON omits
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC) + datetime.timedelta(
        microseconds=nanos // 1000
    )
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _map(entries: list[bytes], *, binary: bool) -> dict[str, str]:
    result: dict[str, str] = {}
    for entry in entries:
        fields = _fields(entry)
        key = _one(fields, 1, b"").decode()
        value: bytes = _one(fields, 2, b"")
        result[key] = base64.b64encode(value).decode() if binary else value.decode()
    return result


def _decode(data: bytes, message: str) -> dict[str, Any]:
    schema = _MESSAGES[message]
    fields = _fields(data)
    obj: dict[str, Any] = {}
    for number, values in fields.items():
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "string":
            obj[name] = values[-1].decode()
        elif kind == "bytes":
            obj[name] = base64.b64encode(values[-1]).decode()
        elif kind == "int":
            obj[name] = _signed(values[-1])
        elif kind == "bool":
            obj[name] = bool(values[-1])
        elif kind == "strings":
            obj[name] = [value.decode() for value in values]
        elif kind in ("string-map", "bytes-map"):
            obj[name] = _map(values, binary=kind == "bytes-map")
        elif kind in ("time", "micro-time"):
            obj[name] = _time(values[-1], micro=kind == "micro-time")
        elif kind.startswith("*"):
            obj[name] = [_decode(value, kind[1:]) for value in values]
        else:
            obj[name] = _decode(values[-1], kind)
    # Go writes every non-pointer field; JSON omits the zero values, and so do we.
    return {key: value for key, value in obj.items() if value not in ("", None, 0, False, {}, [])}
