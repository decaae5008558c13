"""The RBAC authorizer: may this user do this verb on this resource (or path)?

The real authorizer's semantics: `system:masters` may do anything; otherwise a request is
allowed when some ClusterRoleBinding, or some RoleBinding in the request's namespace, names one
of the user's identities as a subject and refers to a role with a rule that covers the request.
A rule covers it when its verbs, apiGroups, resources (`*`, `res/sub`, `*/sub`) and
resourceNames all match; non-resource paths (discovery, OpenAPI, /version) match only the
`nonResourceURLs` of ClusterRoles, exactly or by a trailing `*`. Nothing is ever denied
explicitly: what no rule allows is forbidden, with the real 403 message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sim.apiserver.errors import StatusError
from sim.apiserver.identity import UserInfo
from sim.apiserver.rbac_kinds import RBAC_GROUP
from sim.apiserver.store import ObjectStore

ROLES = f"{RBAC_GROUP}/roles"
CLUSTER_ROLES = f"{RBAC_GROUP}/clusterroles"
ROLE_BINDINGS = f"{RBAC_GROUP}/rolebindings"
CLUSTER_ROLE_BINDINGS = f"{RBAC_GROUP}/clusterrolebindings"


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the authorizer sees it."""

    verb: str
    resource_request: bool
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # non-resource requests only

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _covers(values: Any, wanted: str) -> bool:
    return isinstance(values, list) and ("*" in values or wanted in values)


def _resource_matches(rule_resources: Any, attributes: Attributes) -> bool:
    if not isinstance(rule_resources, list):
        return False
    combined = attributes.combined_resource
    for resource in rule_resources:
        if resource in ("*", combined):
            return True
        if attributes.subresource and resource == f"*/{attributes.subresource}":
            return True
    return False


def _path_matches(urls: Any, path: str) -> bool:
    if not isinstance(urls, list):
        return False
    for url in urls:
        if url in ("*", path):
            return True
        if isinstance(url, str) and url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(rule: dict[str, Any], attributes: Attributes) -> bool:
    """Whether one PolicyRule covers the request."""
    if not _covers(rule.get("verbs"), attributes.verb):
        return False
    if not attributes.resource_request:
        return _path_matches(rule.get("nonResourceURLs"), attributes.path)
    if not _covers(rule.get("apiGroups"), attributes.group):
        return False
    if not _resource_matches(rule.get("resources"), attributes):
        return False
    names = rule.get("resourceNames")
    return not names or attributes.name in names


def _subject_matches(subject: Any, user: UserInfo, binding_namespace: str) -> bool:
    if not isinstance(subject, dict):
        return False
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        account = user.service_account
        namespace = subject.get("namespace") or binding_namespace
        return account is not None and account == (namespace, name)
    return False


class Authorizer:
    """Decides requests from the Roles, ClusterRoles and bindings in the store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def allowed(self, user: UserInfo, attributes: Attributes) -> bool:
        if user.privileged:
            return True
        return any(rule_allows(rule, attributes) for rule in self._rules(user, attributes))

    def _rules(self, user: UserInfo, attributes: Attributes) -> Iterator[dict[str, Any]]:
        for stored in self.store.objects(CLUSTER_ROLE_BINDINGS, None):
            binding = stored.obj
            if any(_subject_matches(s, user, "") for s in binding.get("subjects") or []):
                yield from self._role_rules(binding.get("roleRef") or {}, "")
        if not attributes.resource_request or not attributes.namespace:
            return
        for stored in self.store.objects(ROLE_BINDINGS, attributes.namespace):
            binding = stored.obj
            namespace = attributes.namespace
            if any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                for rule in self._role_rules(binding.get("roleRef") or {}, namespace):
                    if not rule.get("nonResourceURLs"):
                        yield rule

    def _role_rules(self, ref: dict[str, Any], namespace: str) -> Iterator[dict[str, Any]]:
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        if kind == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
        elif kind == "Role" and namespace:
            role = self.store.get(ROLES, namespace, name)
        else:
            return
        if role is not None:
            for rule in role.obj.get("rules") or []:
                if isinstance(rule, dict):
                    yield rule


def forbidden_reason(user: UserInfo, attributes: Attributes) -> str:
    """`User "x" cannot get resource "pods" in API group "" in the namespace "y"`."""
    who = f'User "{user.name}"'
    if not attributes.resource_request:
        return f'{who} cannot {attributes.verb} path "{attributes.path}"'
    what = f'{who} cannot {attributes.verb} resource "{attributes.combined_resource}"'
    where = f'in API group "{attributes.group}"'
    if attributes.namespace:
        return f'{what} {where} in the namespace "{attributes.namespace}"'
    return f"{what} {where} at the cluster scope"


def forbidden(group: str, resource: str, name: str, reason: str) -> StatusError:
    """The real 403 Status: `inferenceservices.serving.kserve.io "iris" is forbidden: ...`."""
    if not resource:
        message = f"forbidden: {reason}"
        details: dict[str, Any] | None = None
    else:
        qualified = f"{resource}.{group}" if group else resource
        message = (
            f'{qualified} "{name}" is forbidden: {reason}'
            if name
            else f"{qualified} is forbidden: {reason}"
        )
        details = {"name": name} if name else {}
        if group:
            details["group"] = group
        details["kind"] = resource
    return StatusError(403, "Forbidden", message, details=details)


def request_forbidden(user: UserInfo, attributes: Attributes) -> StatusError:
    return forbidden(
        attributes.group,
        attributes.resource if attributes.resource_request else "",
        attributes.name,
        forbidden_reason(user, attributes),
    )
