"""The checks every create and update passes before it is stored: the kind's strategy and its
admission hook, OwnerReferencesPermissionEnforcement, the namespace being there and not
terminating, and the managedFields entry of the field manager that wrote.

Kept apart from the verbs so create, update, patch and server-side apply admit alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sim.apiserver import errors, managed_fields, strategy
from sim.apiserver.calls import APICall, Target
from sim.apiserver.errors import CauseLike
from sim.apiserver.namespaces import NAMESPACES
from sim.apiserver.owner_admission import check_owner_references
from sim.apiserver.rbac import Authorizer
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.store import ObjectStore

# A kind-specific admission step: may change the object, returns field problems. `old` is None
# on create.
AdmissionHook = Callable[[dict[str, Any], dict[str, Any] | None], list[CauseLike]]


class WriteAdmission:
    """Admits writes against one store and registry, with the kinds' hooks."""

    def __init__(
        self,
        store: ObjectStore,
        registry: TypeRegistry,
        hooks: Mapping[str, AdmissionHook],
        authorizer: Authorizer | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.hooks = dict(hooks)
        self.authorizer = authorizer

    def admit(
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

    def check_owners(
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

    def check_namespace(self, target: Target) -> None:
        if not target.rtype.namespaced:
            return
        namespace = self.store.get(NAMESPACES, "", target.namespace)
        if namespace is None:
            raise errors.namespace_not_found(target.namespace)
        if namespace.obj["metadata"].get("deletionTimestamp"):
            raise errors.namespace_terminating(target.namespace)


def record_manager(
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
