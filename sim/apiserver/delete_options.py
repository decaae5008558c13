"""DeleteOptions, from the query or the body (JSON or protobuf), and their preconditions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.apiserver import decoding, errors, protobuf
from sim.apiserver.errors import Cause
from sim.apiserver.lifecycle import PROPAGATION_POLICIES
from sim.apiserver.resources import ResourceType
from sim.apiserver.store import StoredObject


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str | None
    dry_run: bool
    uid: str | None
    resource_version: str | None


def delete_options(query: Mapping[str, str], content_type: str, body_bytes: bytes) -> DeleteOptions:
    """DeleteOptions from the query, overridden by a body when one is sent."""
    options: dict[str, Any] = {}
    if query.get("propagationPolicy"):
        options["propagationPolicy"] = query["propagationPolicy"]
    if query.get("orphanDependents"):
        options["orphanDependents"] = query["orphanDependents"].lower() == "true"
    if query.get("dryRun"):
        options["dryRun"] = [query["dryRun"]]
    if body_bytes.strip():
        body = decoding.decode_json(
            body_bytes, prefix="couldn't get version/kind; json parse error: "
        )
        if not isinstance(body, dict):
            raise errors.bad_request("the body of a DELETE must be a DeleteOptions object")
        options.update(body)
    propagation = options.get("propagationPolicy")
    orphan = options.get("orphanDependents")
    if propagation is not None and propagation not in PROPAGATION_POLICIES:
        raise errors.invalid_options(
            [
                Cause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{propagation}": supported values: "Foreground", '
                    '"Background", "Orphan", "nil"',
                    "propagationPolicy",
                )
            ],
        )
    if propagation is None and orphan is not None:
        propagation = "Orphan" if orphan else "Background"
    dry = options.get("dryRun") or []
    if not isinstance(dry, list) or any(value != "All" for value in dry):
        raise errors.invalid_options(
            [
                Cause(
                    "FieldValueNotSupported", 'Unsupported value: supported values: "All"', "dryRun"
                )
            ]
        )
    preconditions = options.get("preconditions") or {}
    if not isinstance(preconditions, dict):
        raise errors.bad_request("preconditions must be an object")
    return DeleteOptions(
        propagation=propagation,
        dry_run=bool(dry),
        uid=preconditions.get("uid"),
        resource_version=preconditions.get("resourceVersion"),
    )


def _delete_options_protobuf(raw: bytes) -> tuple[dict[str, Any], str, str]:
    try:
        obj, api_version, kind = protobuf.decode_object(raw)
    except (protobuf.ProtobufError, UnicodeDecodeError) as error:
        raise errors.bad_request(str(error)) from None
    if obj is None:
        raise errors.bad_request(f"expected DeleteOptions, got {kind} in {api_version}")
    return obj, api_version, kind


def check_delete_preconditions(
    options: DeleteOptions, stored: StoredObject, rtype: ResourceType
) -> None:
    metadata = stored.obj["metadata"]
    if options.uid and options.uid != metadata.get("uid"):
        raise errors.conflict(
            rtype,
            stored.name,
            f"Precondition failed: UID in precondition: {options.uid}, UID in object meta: "
            f"{metadata.get('uid')}",
        )
    if options.resource_version and options.resource_version != metadata["resourceVersion"]:
        raise errors.conflict(
            rtype,
            stored.name,
            "Precondition failed: ResourceVersion in precondition: "
            f"{options.resource_version}, ResourceVersion in object meta: "
            f"{metadata['resourceVersion']}",
        )
