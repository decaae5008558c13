"""The writing verbs: create, update (PUT) and patch, on the object or on its status or scale
subresource, with dry run and server-side apply of an object that does not exist yet.

Each write decodes the body (`write_bodies`), checks that its name and namespace match the
URL, passes admission (`write_admission`) and is stored through the lifecycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.apiserver import decoding, errors, objectmeta, strategy
from sim.apiserver.calls import APICall, Reply, Target
from sim.apiserver.errors import Cause
from sim.apiserver.lifecycle import Lifecycle
from sim.apiserver.patching import apply_patch
from sim.apiserver.representation import as_version, object_json
from sim.apiserver.scale import scale_of
from sim.apiserver.store import ObjectStore, encode_json
from sim.apiserver.write_admission import WriteAdmission, record_manager
from sim.apiserver.write_bodies import (
    applied_configuration,
    decode_body,
    decode_prefix,
    patched_scale,
    put_scale,
)


def dry_run(query: Mapping[str, str]) -> bool:
    value = query.get("dryRun")
    if value is None or value == "":
        return False
    if value != "All":
        raise errors.invalid_options(
            [
                Cause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{value}": supported values: "All"',
                    "dryRun",
                )
            ]
        )
    return True


class WriteHandlers:
    """Serves create, update and patch against one store, through one admission."""

    def __init__(self, store: ObjectStore, lifecycle: Lifecycle, admission: WriteAdmission) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.admission = admission

    def create(
        self, call: APICall, target: Target, *, applied: dict[str, Any] | None = None
    ) -> Reply:
        rtype = target.rtype
        if call.request.subresource:
            raise errors.method_not_allowed()
        field_validation = strategy.field_validation_mode(call.query.get("fieldValidation"))
        is_dry_run = dry_run(call.query)
        obj = decode_body(call, rtype)
        strategy.check_kind(obj, rtype)
        metadata = obj["metadata"]
        if rtype.namespaced:
            sent = metadata.get("namespace")
            if sent and sent != target.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            metadata["namespace"] = target.namespace
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = objectmeta.generate_name(str(metadata["generateName"]))
        obj = strategy.prepare_create(obj, rtype)
        admitted = self.admission.admit(
            obj,
            target,
            old=None,
            field_validation=field_validation,
            strict_prefix=decode_prefix(rtype),
            body=call.body,
        )
        obj = admitted.obj
        name = str(obj["metadata"]["name"])
        self.admission.check_owners(call, target, obj, None)
        record_manager(call, obj, None, apply_body=applied)
        self.admission.check_namespace(target)
        if self.store.get(target.resource, target.namespace, name) is not None:
            raise errors.already_exists(rtype, name)
        if is_dry_run:
            return Reply(201, encode_json(obj), admitted.warnings)
        stored = self.store.create(target.resource, obj)
        return Reply(201, object_json(stored, rtype), admitted.warnings)

    def write(self, call: APICall, target: Target) -> Reply:
        """PUT and PATCH, on the object or its status or scale subresource."""
        rtype = target.rtype
        request = call.request
        field_validation = strategy.field_validation_mode(call.query.get("fieldValidation"))
        is_dry_run = dry_run(call.query)
        stored = self.store.get(target.resource, target.namespace, request.name)
        if request.verb == "patch":
            media = decoding.media_type(call.content_type)
            if media == decoding.APPLY_PATCH and stored is None:
                return self._apply_create(call, target, field_validation, is_dry_run)
            if stored is None:
                raise errors.not_found(rtype, request.name)
            if request.subresource == "scale":
                new = patched_scale(call, stored, rtype)
            else:
                # the patch functions never change their input: no copy needed
                new = apply_patch(
                    call.content_type, call.body, as_version(stored.obj, rtype), rtype
                )
            if not isinstance(new.get("metadata"), dict):
                new["metadata"] = {}
            if not new["metadata"].get("resourceVersion"):
                new["metadata"]["resourceVersion"] = stored.obj["metadata"]["resourceVersion"]
            strict_prefix = ""
        else:
            if stored is None:
                raise errors.not_found(rtype, request.name)
            if request.subresource == "scale":
                new = put_scale(call, stored, rtype)
            else:
                new = decode_body(call, rtype)
                strategy.check_kind(new, rtype)
            strict_prefix = decode_prefix(rtype)
        self._check_identity(new, target, request.name)
        old = stored.obj
        strategy.check_update_preconditions(new, old, rtype)
        status_only = request.subresource == "status"
        new = strategy.prepare_update(new, old, rtype, status_only=status_only)
        admitted = self.admission.admit(
            new,
            target,
            old=old,
            field_validation=field_validation,
            strict_prefix=strict_prefix,
            body=call.body,
        )
        self.admission.check_owners(call, target, admitted.obj, old)
        record_manager(call, admitted.obj, old, apply_body=applied_configuration(call))
        if is_dry_run:
            return Reply(200, encode_json(admitted.obj), admitted.warnings)
        result = self.lifecycle.commit_update(target.resource, admitted.obj, stored)
        if request.subresource == "scale":
            return Reply(200, encode_json(scale_of(result.obj, rtype)), admitted.warnings)
        return Reply(200, object_json(result, rtype), admitted.warnings)

    def _check_identity(self, new: dict[str, Any], target: Target, name: str) -> None:
        metadata = new["metadata"]
        sent_name = metadata.get("name")
        if sent_name and sent_name != name:
            raise errors.bad_request(
                f"the name of the object ({sent_name}) does not match the name on the URL ({name})"
            )
        metadata["name"] = name
        if target.rtype.namespaced:
            sent = metadata.get("namespace")
            if sent and sent != target.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            metadata["namespace"] = target.namespace

    def _apply_create(
        self, call: APICall, target: Target, field_validation: str, is_dry_run: bool
    ) -> Reply:
        """Server-side apply of an object that does not exist yet creates it."""
        body = decoding.decode_yaml(call.body)
        body = strategy.require_object(body, target.rtype)
        self._check_identity(body, target, call.request.name)
        query = {**call.query, "fieldValidation": field_validation}
        if is_dry_run:
            query["dryRun"] = "All"
        created = APICall(
            request=call.request,
            query=query,
            accept=call.accept,
            content_type=decoding.JSON,
            body=encode_json(body),
            user=call.user,
            user_agent=call.user_agent,
        )
        return self.create(created, target, applied=body)
