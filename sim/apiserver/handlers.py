"""The REST verbs on resources: get, list, create, update, patch, delete, deletecollection,
and the status and scale subresources, with the real server's semantics and errors.

Handlers are independent of the HTTP framework: they take an `APICall` and return a `Reply`
(or raise `StatusError`). Watches stream and live in `watch_stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.apiserver import decoding, errors, managed_fields, objectmeta, protobuf, strategy
from sim.apiserver.delete_options import check_delete_preconditions, delete_options
from sim.apiserver.errors import Cause, CauseLike
from sim.apiserver.identity import UserInfo
from sim.apiserver.lifecycle import Lifecycle, copy_of
from sim.apiserver.listing import (
    decode_continue,
    encode_continue,
    int_param,
    selection_predicate,
)
from sim.apiserver.owner_admission import check_owner_references
from sim.apiserver.patching import apply_patch
from sim.apiserver.rbac import Authorizer
from sim.apiserver.registry import TypeRegistry, storage_key
from sim.apiserver.representation import as_version, collection, object_json, single
from sim.apiserver.request_info import Representation, ResourceRequest, negotiate
from sim.apiserver.resources import ResourceType
from sim.apiserver.scale import SCALE, scale_of, with_scale
from sim.apiserver.store import ObjectStore, StoredObject, encode_json

NAMESPACES = "/namespaces"

# A kind-specific admission step: may change the object, returns field problems. `old` is None
# on create.
AdmissionHook = Callable[[dict[str, Any], dict[str, Any] | None], list[CauseLike]]


@dataclass(frozen=True)
class APICall:
    """A request on a resource, as the handlers need it."""

    request: ResourceRequest
    query: Mapping[str, str]
    accept: str = ""
    content_type: str = ""
    body: bytes = b""
    user: UserInfo | None = None  # None: the control plane itself
    user_agent: str = ""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Target:
    """The resolved resource of a request."""

    rtype: ResourceType
    resource: str  # storage key
    namespace: str  # "" for cluster-scoped kinds


def resolve(registry: TypeRegistry, request: ResourceRequest) -> Target:
    """The served type for a request, or the 404 a real server gives for an unknown path."""
    rtype = registry.resolve(request.group, request.version, request.resource)
    if rtype is None:
        raise errors.unknown_resource()
    if not rtype.namespaced and request.namespace is not None:
        raise errors.unknown_resource()
    if rtype.namespaced and request.namespace is None and request.verb not in ("list", "watch"):
        raise errors.unknown_resource()
    sub = request.subresource
    if sub and not (
        (sub == "status" and rtype.has_status)
        or (sub == "scale" and rtype.scale is not None)
        or (sub == "finalize" and rtype.kind == "Namespace" and not rtype.group)
    ):
        raise errors.unknown_resource()
    return Target(rtype, storage_key(rtype), request.namespace or "")


def _representation(call: APICall) -> Representation:
    wanted = negotiate(call.accept)
    if wanted is None:
        raise errors.not_acceptable(
            ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
        )
    return wanted


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


def _record_manager(
    call: APICall,
    new: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    apply_body: dict[str, Any] | None = None,
) -> None:
    """managedFields for this write; the control plane's own writes (no manager) leave them."""
    manager = managed_fields.manager_name(call.query.get("fieldManager"), call.user_agent)
    if not manager:
        return
    managed_fields.record_write(
        new,
        old,
        manager=manager,
        operation="Apply" if apply_body is not None else "Update",
        subresource=call.request.subresource,
        applied=managed_fields.fields_of(apply_body) if apply_body is not None else None,
    )


class ResourceHandlers:
    """Serves the non-streaming verbs against one store and registry."""

    def __init__(
        self,
        store: ObjectStore,
        registry: TypeRegistry,
        lifecycle: Lifecycle,
        hooks: Mapping[str, AdmissionHook],
        authorizer: Authorizer | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.lifecycle = lifecycle
        self.hooks = dict(hooks)
        self.authorizer = authorizer

    def _check_owners(
        self,
        call: APICall,
        target: Target,
        new: dict[str, Any],
        old: dict[str, Any] | None,
    ) -> None:
        if call.user is None or self.authorizer is None:
            return
        check_owner_references(
            user=call.user,
            authorizer=self.authorizer,
            registry=self.registry,
            rtype=target.rtype,
            namespace=target.namespace,
            name=str(new["metadata"].get("name", "")),
            new=new,
            old=old,
        )

    def handle(self, call: APICall) -> Reply:
        target = resolve(self.registry, call.request)
        verb = call.request.verb
        if verb not in target.rtype.verbs:
            raise errors.method_not_allowed()
        named = bool(call.request.name)
        if (verb == "create" and named) or (verb in ("update", "patch") and not named):
            raise errors.method_not_allowed()
        if verb == "get":
            return self.get(call, target)
        if verb == "list":
            return self.list(call, target)
        if verb == "create":
            return self.create(call, target)
        if verb in ("update", "patch"):
            return self.write(call, target)
        if verb == "delete":
            return self.delete(call, target)
        if verb == "deletecollection":
            return self.delete_collection(call, target)
        raise errors.method_not_allowed()

    # reads

    def _existing(self, target: Target, name: str) -> StoredObject:
        stored = self.store.get(target.resource, target.namespace, name)
        if stored is None:
            raise errors.not_found(target.rtype, name)
        return stored

    def get(self, call: APICall, target: Target) -> Reply:
        stored = self._existing(target, call.request.name)
        if call.request.subresource == "scale":
            return Reply(200, encode_json(scale_of(stored.obj, target.rtype)))
        representation = _representation(call)
        include = call.query.get("includeObject", "Metadata")
        return Reply(200, single(stored, target.rtype, representation, include=include))

    def list(self, call: APICall, target: Target) -> Reply:
        representation = _representation(call)
        namespace = call.request.namespace
        matches = selection_predicate(call.query, target.rtype)
        items = self.store.objects(target.resource, namespace)
        if matches is not None:
            items = [stored for stored in items if matches(stored.obj)]
        resource_version = self.store.resource_version
        limit = int_param(call.query, "limit")
        token = call.query.get("continue", "")
        if token:
            list_rv, start_after = decode_continue(token)
            resource_version = list_rv
            items = [s for s in items if (s.namespace, s.name) > start_after]
        next_token: str | None = None
        remaining: int | None = None
        if limit and len(items) > limit:
            last = items[limit - 1]
            if matches is None:
                remaining = len(items) - limit
            items = items[:limit]
            next_token = encode_continue(resource_version, (last.namespace, last.name))
        include = call.query.get("includeObject", "Metadata")
        body = collection(
            items,
            target.rtype,
            representation,
            resource_version=str(resource_version),
            continue_token=next_token,
            remaining=remaining,
            include=include,
        )
        return Reply(200, body)

    # writes

    def _check_namespace(self, target: Target) -> None:
        if not target.rtype.namespaced:
            return
        namespace = self.store.get(NAMESPACES, "", target.namespace)
        if namespace is None:
            raise errors.namespace_not_found(target.namespace)
        if namespace.obj["metadata"].get("deletionTimestamp"):
            raise errors.namespace_terminating(target.namespace)

    def _decode_body(self, call: APICall, rtype: ResourceType) -> dict[str, Any]:
        accepted = (
            decoding.BUILTIN_BODY_TYPES if rtype.builtin else decoding.CUSTOM_RESOURCE_BODY_TYPES
        )
        media = decoding.media_type(call.content_type) or decoding.JSON
        if media == decoding.PROTOBUF and rtype.builtin:
            body = _decode_protobuf(call.body, rtype)
        elif media not in (decoding.JSON, decoding.YAML):
            raise errors.unsupported_media_type(accepted)
        else:
            body = decoding.decode_object(call.body, call.content_type)
        return strategy.require_object(body, rtype)

    def _admit(
        self,
        obj: dict[str, Any],
        target: Target,
        *,
        old: dict[str, Any] | None,
        field_validation: str,
        strict_prefix: str,
        body: bytes,
    ) -> strategy.Admitted:
        rtype = target.rtype
        admitted = strategy.admit(
            obj,
            rtype,
            field_validation=field_validation,
            creating=old is None,
            strict_prefix=strict_prefix,
            # stored objects hold no nulls, so new ones can only come from the request
            may_have_nulls=b"null" in body or not body,
        )
        hook = self.hooks.get(target.resource)
        if hook is not None:
            causes = hook(admitted.obj, old)
            if causes:
                raise errors.invalid(rtype, str(admitted.obj["metadata"].get("name", "")), causes)
        return admitted

    def create(
        self, call: APICall, target: Target, *, applied: dict[str, Any] | None = None
    ) -> Reply:
        rtype = target.rtype
        if call.request.subresource:
            raise errors.method_not_allowed()
        field_validation = strategy.field_validation_mode(call.query.get("fieldValidation"))
        is_dry_run = dry_run(call.query)
        obj = self._decode_body(call, rtype)
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
        admitted = self._admit(
            obj,
            target,
            old=None,
            field_validation=field_validation,
            strict_prefix=_decode_prefix(rtype),
            body=call.body,
        )
        obj = admitted.obj
        name = str(obj["metadata"]["name"])
        self._check_owners(call, target, obj, None)
        _record_manager(call, obj, None, apply_body=applied)
        self._check_namespace(target)
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
                new = self._patched_scale(call, stored, rtype)
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
                new = self._put_scale(call, stored, rtype)
            else:
                new = self._decode_body(call, rtype)
                strategy.check_kind(new, rtype)
            strict_prefix = _decode_prefix(rtype)
        self._check_identity(new, target, request.name)
        old = stored.obj
        strategy.check_update_preconditions(new, old, rtype)
        status_only = request.subresource == "status"
        new = strategy.prepare_update(new, old, rtype, status_only=status_only)
        admitted = self._admit(
            new,
            target,
            old=old,
            field_validation=field_validation,
            strict_prefix=strict_prefix,
            body=call.body,
        )
        self._check_owners(call, target, admitted.obj, old)
        _record_manager(call, admitted.obj, old, apply_body=_applied(call))
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

    def _put_scale(
        self, call: APICall, stored: StoredObject, rtype: ResourceType
    ) -> dict[str, Any]:
        body = decoding.decode_object(call.body, call.content_type)
        if not isinstance(body, dict):
            raise errors.bad_request("a Scale object is required")
        return with_scale(copy_of(stored), rtype, body, stored)

    def _patched_scale(
        self, call: APICall, stored: StoredObject, rtype: ResourceType
    ) -> dict[str, Any]:
        current = scale_of(stored.obj, rtype)
        patched = apply_patch(call.content_type, call.body, current, SCALE)
        return with_scale(copy_of(stored), rtype, patched, stored)

    def delete(self, call: APICall, target: Target) -> Reply:
        if call.request.subresource:
            raise errors.method_not_allowed()
        options = delete_options(call.query, call.content_type, call.body)
        stored = self._existing(target, call.request.name)
        check_delete_preconditions(options, stored, target.rtype)
        result = self.lifecycle.delete(
            target.resource,
            target.rtype,
            stored,
            propagation=options.propagation,
            dry_run=options.dry_run,
        )
        return Reply(200, object_json(result.stored, target.rtype))

    def delete_collection(self, call: APICall, target: Target) -> Reply:
        options = delete_options(call.query, call.content_type, call.body)
        matches = selection_predicate(call.query, target.rtype)
        deleted: list[StoredObject] = []
        for stored in self.store.objects(target.resource, call.request.namespace):
            if matches is not None and not matches(stored.obj):
                continue
            result = self.lifecycle.delete(
                target.resource,
                target.rtype,
                stored,
                propagation=options.propagation,
                dry_run=options.dry_run,
            )
            deleted.append(result.stored)
        body = collection(
            deleted,
            target.rtype,
            Representation(),
            resource_version=str(self.store.resource_version),
            continue_token=None,
            remaining=None,
            include="Object",
        )
        return Reply(200, body)


def _applied(call: APICall) -> dict[str, Any] | None:
    """The configuration a server-side apply sends (None for every other write)."""
    if call.request.verb != "patch":
        return None
    if decoding.media_type(call.content_type) != decoding.APPLY_PATCH:
        return None
    body = decoding.decode_yaml(call.body)
    return body if isinstance(body, dict) else None


def _decode_protobuf(raw: bytes, rtype: ResourceType) -> dict[str, Any]:
    try:
        obj, _, _ = protobuf.decode_object(raw)
    except (protobuf.ProtobufError, UnicodeDecodeError) as error:
        raise errors.bad_request(f"{_decode_prefix(rtype)}{error}") from None
    if obj is None:
        # this server reads protobuf for a few simple kinds only; JSON works for all
        raise errors.unsupported_media_type(decoding.CUSTOM_RESOURCE_BODY_TYPES)
    return obj


def _decode_prefix(rtype: ResourceType) -> str:
    return f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
