"""OwnerReferencesPermissionEnforcement: who may point an object at an owner.

The real admission plugin's two checks, with its messages: changing the ownerReferences of an
existing object needs `delete` on that object, and setting `blockOwnerDeletion: true` on a
reference (newly, or on a reference that did not block before) needs `update` on the owner's
`finalizers` subresource, because a blocking dependent holds up the owner's foreground
deletion. Creating an object with owners needs nothing extra beyond the blocking check.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.identity import UserInfo
from sim.apiserver.rbac import Attributes, Authorizer, forbidden
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.resources import ResourceType


def _references(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if obj is None:
        return []
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [ref for ref in refs if isinstance(ref, dict)]


def _newly_blocking(new: dict[str, Any], old: dict[str, Any] | None) -> list[dict[str, Any]]:
    blocking_before = {
        str(ref.get("uid")) for ref in _references(old) if ref.get("blockOwnerDeletion") is True
    }
    return [
        ref
        for ref in _references(new)
        if ref.get("blockOwnerDeletion") is True and str(ref.get("uid")) not in blocking_before
    ]


def _owner_types(registry: TypeRegistry, ref: dict[str, Any]) -> list[ResourceType]:
    api_version = str(ref.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    kind = ref.get("kind")
    return [t for t in registry.types_in(group, version) if t.kind == kind]


def check_owner_references(
    *,
    user: UserInfo,
    authorizer: Authorizer,
    registry: TypeRegistry,
    rtype: ResourceType,
    namespace: str,
    name: str,
    new: dict[str, Any],
    old: dict[str, Any] | None,
) -> None:
    """Raise the plugin's 403 when `user` may not set `new`'s owner references."""
    if user.privileged or _references(new) == _references(old):
        return

    def refuse(reason: str) -> None:
        raise forbidden(rtype.group, rtype.plural, name, reason)

    if old is not None:
        delete = Attributes(
            verb="delete",
            resource_request=True,
            group=rtype.group,
            resource=rtype.plural,
            namespace=namespace,
            name=name,
        )
        if not authorizer.allowed(user, delete):
            refuse("cannot set an ownerRef on a resource you can't delete: , <nil>")
    for ref in _newly_blocking(new, old):
        owners = _owner_types(registry, ref)
        if not owners:
            refuse(
                "cannot set blockOwnerDeletion in this case because cannot find RESTMapping for "
                f"APIVersion {ref.get('apiVersion')} Kind {ref.get('kind')}: no matches for kind "
                f'"{ref.get("kind")}" in version "{ref.get("apiVersion")}"'
            )
        for owner in owners:
            finalizers = Attributes(
                verb="update",
                resource_request=True,
                group=owner.group,
                resource=owner.plural,
                subresource="finalizers",
                namespace=namespace if owner.namespaced else "",
                name=str(ref.get("name", "")),
            )
            if not authorizer.allowed(user, finalizers):
                refuse(
                    "cannot set blockOwnerDeletion if an ownerReference refers to a resource "
                    "you can't set finalizers on: , <nil>"
                )
