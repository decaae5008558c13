"""The rules a real server applies to every write, before anything is stored.

Create sets uid, creationTimestamp and generation and drops status when a status subresource
exists; update keeps the fields clients may not change, bumps generation only when something
outside metadata changed, and honours the status subresource split (the main resource ignores
status, `/status` ignores everything else). Admission prunes fields the structural schema does
not declare (reporting them per `fieldValidation`), applies defaults and validates.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sim.apiserver import errors, objectmeta, schema
from sim.apiserver.errors import Cause, CauseLike
from sim.apiserver.resources import ResourceType
from sim.apiserver.timestamps import format_time, normalise_times, now

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")

# Built-in kinds whose metadata.generation the real server maintains (others leave it unset).
_BUILTIN_GENERATION = frozenset(
    {
        ("apps", "deployments"),
        ("networking.k8s.io", "ingresses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
)


# Fields of metadata that only the server sets; what a client sends there is replaced.
_SERVER_OWNED_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def tracks_generation(rtype: ResourceType) -> bool:
    return not rtype.builtin or (rtype.group, rtype.plural) in _BUILTIN_GENERATION


def field_validation_mode(value: str | None) -> str:
    """The `fieldValidation` directive; the server default is Warn."""
    if not value:
        return "Warn"
    for mode in FIELD_VALIDATION:
        if value.lower() == mode.lower():
            return mode
    raise errors.bad_request(
        f"fieldValidation parameter unsupported: {value}. Allowed values are Ignore, Warn, Strict"
    )


@dataclass(frozen=True)
class Admitted:
    """An object ready to store and the warnings to send with the response."""

    obj: dict[str, Any]
    warnings: tuple[str, ...]


def admit(
    obj: dict[str, Any],
    rtype: ResourceType,
    *,
    field_validation: str,
    creating: bool,
    strict_prefix: str,
    may_have_nulls: bool = True,
) -> Admitted:
    """Prune unknown fields (400 under Strict), default and validate (422 with causes).

    `strict_prefix` is what the real server puts before `strict decoding error:`; it differs
    between a decoded body (create, update) and a patch. `may_have_nulls` False (the request
    body holds no `null`) lets defaulting be skipped when the schema declares no defaults.
    `obj` is the caller's to give away (freshly decoded or patched): it is pruned and defaulted
    in place rather than copied, and must not be used afterwards.
    """
    # metadata is cut down to ObjectMeta's fields whatever the schema says about it (a CRD's
    # `metadata: {type: object}` declares no properties but prunes nothing): schema.prune does
    # that at the root, and without a schema only metadata is pruned
    if rtype.schema is not None:
        obj, unknown = schema.prune(obj, rtype.schema, in_place=True)
    else:
        unknown = _prune_metadata(obj)
    warnings: list[str] = []
    if unknown:
        texts = [f'unknown field "{path}"' for path in unknown]
        if field_validation == "Strict":
            raise errors.bad_request(strict_prefix + "strict decoding error: " + ", ".join(texts))
        if field_validation == "Warn":
            warnings.extend(texts)
    if rtype.schema is not None and (
        _declares_defaults(rtype.schema) or (may_have_nulls and _has_null(obj))
    ):
        obj = schema.apply_defaults(obj, rtype.schema, in_place=True)
    if rtype.builtin:
        normalise_times(obj, rtype.group, rtype.kind)
    causes: list[CauseLike] = list(objectmeta.validate_object_meta(obj, rtype, creating=creating))
    if rtype.schema is not None:
        causes.extend(schema.validate(obj, rtype.schema))
    if causes:
        raise errors.invalid(rtype, _name_of(obj), causes)
    return Admitted(obj=_ordered(obj), warnings=tuple(warnings))


_DEFAULTS_SEEN: dict[int, tuple[dict[str, Any], bool]] = {}


def _declares_defaults(node: dict[str, Any]) -> bool:
    """Whether a schema has any `default` (defaulting copies the object, so skip it if not)."""
    cached = _DEFAULTS_SEEN.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    found = '"default"' in json.dumps(node)
    _DEFAULTS_SEEN[id(node)] = (node, found)
    return found


def _has_null(value: Any) -> bool:
    """Whether any field is null (defaulting drops those the schema does not allow)."""
    if isinstance(value, dict):
        return any(item is None or _has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(item is None or _has_null(item) for item in value)
    return False


def _prune_metadata(obj: dict[str, Any]) -> list[str]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return []
    unknown = [f"metadata.{key}" for key in metadata if key not in schema.OBJECT_META_FIELDS]
    for path in unknown:
        del metadata[path.removeprefix("metadata.")]
    return unknown


def _ordered(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first, as the real server serialises objects."""
    head: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    return {**head, **{k: v for k, v in obj.items() if k not in head}}


def _name_of(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""


def prepare_create(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Server-set metadata for a new object, and its status dropped when it is a subresource."""
    metadata = obj["metadata"]
    for key in (*_SERVER_OWNED_META, "resourceVersion", "generation", "selfLink"):
        metadata.pop(key, None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = format_time(now())
    if tracks_generation(rtype):
        metadata["generation"] = 1
    if rtype.has_status and "status" in obj:
        obj.pop("status")
    metadata.pop("managedFields", None)
    return _ordered(obj)


def prepare_update(
    new: dict[str, Any], old: dict[str, Any], rtype: ResourceType, *, status_only: bool
) -> dict[str, Any]:
    """Carry over what a client cannot change and split main resource from /status."""
    old_meta = old["metadata"]
    if status_only:
        merged = copy.deepcopy({k: v for k, v in old.items() if k != "status"})
        if "status" in new:
            merged["status"] = new["status"]
        merged["metadata"]["resourceVersion"] = new["metadata"].get(
            "resourceVersion", old_meta.get("resourceVersion")
        )
        return _ordered(merged)
    metadata = new["metadata"]
    for key in _SERVER_OWNED_META:
        if key in old_meta:
            metadata[key] = old_meta[key]
        else:
            metadata.pop(key, None)
    metadata.pop("managedFields", None)
    metadata.pop("selfLink", None)
    if rtype.has_status:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if tracks_generation(rtype):
        generation = int(old_meta.get("generation", 1))
        if _spec_changed(new, old):
            generation += 1
        metadata["generation"] = generation
    else:
        metadata.pop("generation", None)
    if old_meta.get("deletionTimestamp"):
        added = set(metadata.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
        if added:
            raise errors.invalid(
                rtype,
                str(old_meta["name"]),
                [
                    Cause(
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted,"
                        f" found new finalizers {sorted(added)!r}".replace("'", '"'),
                        "metadata.finalizers",
                    )
                ],
            )
    return _ordered(new)


def _spec_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    keys = (set(new) | set(old)) - {"metadata"}
    return any(new.get(key) != old.get(key) for key in keys)


def unchanged(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True when an update would store exactly what is there (no write, no event)."""
    if set(new) != set(old):
        return False
    new_meta = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
    old_meta = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
    if new_meta != old_meta:
        return False
    return all(new[key] == old[key] for key in new if key != "metadata")


def check_update_preconditions(
    new: dict[str, Any], old: dict[str, Any], rtype: ResourceType
) -> None:
    """409 on a stale resourceVersion or another object's uid; 422 for a CR with no rv."""
    metadata = new["metadata"]
    old_meta = old["metadata"]
    name = str(old_meta["name"])
    uid = metadata.get("uid")
    if uid and uid != old_meta.get("uid"):
        raise errors.conflict(
            rtype,
            name,
            f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
            f"{old_meta.get('uid')}",
        )
    rv = metadata.get("resourceVersion")
    if not rv:
        if not rtype.builtin:
            raise errors.invalid(
                rtype,
                name,
                [
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        metadata["resourceVersion"] = old_meta["resourceVersion"]
        return
    if str(rv) != str(old_meta["resourceVersion"]):
        raise errors.conflict(rtype, name)


def mark_deleting(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Set deletionTimestamp (and bump generation) on an object finalizers hold back."""
    metadata = obj["metadata"]
    if not metadata.get("deletionTimestamp"):
        metadata["deletionTimestamp"] = format_time(now())
        metadata["deletionGracePeriodSeconds"] = 0
        if tracks_generation(rtype):
            metadata["generation"] = int(metadata.get("generation", 1)) + 1
    return obj


def require_object(body: Any, rtype: ResourceType) -> dict[str, Any]:
    """A decoded body that is an object with metadata, or 400 as the real decoder says."""
    if not isinstance(body, dict):
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            f"json: cannot unmarshal {_go_kind(body)} into Go value of type "
            "map[string]interface {}"
        )
    if rtype.builtin:
        # typed decoding defaults the group, version and kind from the URL
        body.setdefault("apiVersion", rtype.api_version)
        body.setdefault("kind", rtype.kind)
    if not body.get("kind"):
        raise errors.bad_request(f"Object 'Kind' is missing in '{_short(body)}'")
    metadata = body.get("metadata")
    if metadata is None:
        body["metadata"] = {}
    elif not isinstance(metadata, dict):
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            "json: cannot unmarshal "
            f"{_go_kind(metadata)} into Go struct field ObjectMeta.metadata of type v1.ObjectMeta"
        )
    return body


def check_kind(body: dict[str, Any], rtype: ResourceType) -> None:
    """400 when the body's apiVersion/kind is not this resource's (as the decoder reports)."""
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if kind != rtype.kind:
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
        )
    if api_version != rtype.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rtype.api_version})"
        )


def _go_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "object"


def _short(body: dict[str, Any]) -> str:
    text = json.dumps(body, separators=(",", ":"))
    return text if len(text) < 200 else text[:200] + "..."
