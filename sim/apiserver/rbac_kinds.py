"""The identity and access kinds: ServiceAccounts, RBAC's four kinds and SelfSubjectAccessReview.

Served as a real 1.3x server presents them: the same names, (lack of) short names, printer
columns and the schema basics, so `kubectl apply` of a ClusterRole validates and prunes as it
would on a cluster, and `kubectl get rolebindings -o wide` shows the same columns. Admission
for bindings enforces what the real validation does that matters here: a binding needs a
roleRef, and the roleRef cannot change.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.errors import Cause, CauseLike
from sim.apiserver.meta_schemas import (
    BOOLEAN,
    OBJECT_META,
    OBJECT_REFERENCE,
    STRINGS,
    arr,
    deep,
    obj,
    string,
    with_meta,
)
from sim.apiserver.resources import PrinterColumn, ResourceType

RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHORIZATION_GROUP = "authorization.k8s.io"

POLICY_RULE = obj(
    {
        "verbs": STRINGS,
        "apiGroups": STRINGS,
        "resources": STRINGS,
        "resourceNames": STRINGS,
        "nonResourceURLs": STRINGS,
    },
    required=("verbs",),
)
SUBJECT = obj(
    {"kind": string(), "apiGroup": string(), "name": string(), "namespace": string()},
    required=("kind", "name"),
)
ROLE_REF = obj(
    {"apiGroup": string(), "kind": string(), "name": string()},
    required=("apiGroup", "kind", "name"),
)

SERVICE_ACCOUNT_SCHEMA = with_meta(
    {
        "secrets": arr(OBJECT_REFERENCE),
        "imagePullSecrets": arr(obj({"name": string()})),
        "automountServiceAccountToken": BOOLEAN,
    }
)
ROLE_SCHEMA = with_meta({"rules": arr(POLICY_RULE)})
CLUSTER_ROLE_SCHEMA = with_meta({"rules": arr(POLICY_RULE), "aggregationRule": obj(preserve=True)})
BINDING_SCHEMA = with_meta({"subjects": arr(SUBJECT), "roleRef": ROLE_REF}, required=("roleRef",))
RESOURCE_ATTRIBUTES = obj(
    {
        "namespace": string(),
        "verb": string(),
        "group": string(),
        "version": string(),
        "resource": string(),
        "subresource": string(),
        "name": string(),
        "fieldSelector": deep(),
        "labelSelector": deep(),
    }
)
SELF_SUBJECT_ACCESS_REVIEW_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": string(),
        "kind": string(),
        "metadata": OBJECT_META,
        "spec": obj(
            {
                "resourceAttributes": RESOURCE_ATTRIBUTES,
                "nonResourceAttributes": obj({"path": string(), "verb": string()}),
            }
        ),
        "status": obj(
            {
                "allowed": BOOLEAN,
                "denied": BOOLEAN,
                "reason": string(),
                "evaluationError": string(),
            }
        ),
    },
    "required": ["spec"],
}

_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
_CREATED_AT = PrinterColumn("Created At", "string", ".metadata.creationTimestamp", format="date")


def _role_ref(binding: dict[str, Any]) -> str:
    ref = binding.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _subjects(kind: str) -> PrinterColumn:
    def names(binding: dict[str, Any]) -> str:
        found = []
        for subject in binding.get("subjects") or []:
            if not isinstance(subject, dict) or subject.get("kind") != kind:
                continue
            name = str(subject.get("name", ""))
            if kind == "ServiceAccount":
                name = f"{subject.get('namespace', '')}/{name}"
            found.append(name)
        return ", ".join(found)

    title = {"User": "Users", "Group": "Groups", "ServiceAccount": "ServiceAccounts"}[kind]
    return PrinterColumn(title, "string", ".subjects", priority=1, cell=names)


_BINDING_COLUMNS = (
    PrinterColumn("Role", "string", ".roleRef.kind", cell=_role_ref),
    _AGE,
    _subjects("User"),
    _subjects("Group"),
    _subjects("ServiceAccount"),
)


def _secret_count(account: dict[str, Any]) -> int:
    secrets = account.get("secrets")
    return len(secrets) if isinstance(secrets, list) else 0


SERVICE_ACCOUNTS = ResourceType(
    group="", version="v1", kind="ServiceAccount", plural="serviceaccounts",
    singular="serviceaccount", namespaced=True, list_kind="ServiceAccountList",
    short_names=("sa",), schema=SERVICE_ACCOUNT_SCHEMA,
    printer_columns=(PrinterColumn("Secrets", "integer", ".secrets", cell=_secret_count), _AGE),
)  # fmt: skip

ROLES = ResourceType(
    group=RBAC_GROUP, version="v1", kind="Role", plural="roles", singular="role",
    namespaced=True, list_kind="RoleList", name_format="path_segment", schema=ROLE_SCHEMA,
    printer_columns=(_CREATED_AT,),
)  # fmt: skip

CLUSTER_ROLES = ResourceType(
    group=RBAC_GROUP, version="v1", kind="ClusterRole", plural="clusterroles",
    singular="clusterrole", namespaced=False, list_kind="ClusterRoleList",
    name_format="path_segment",
    schema=CLUSTER_ROLE_SCHEMA, printer_columns=(_CREATED_AT,),
    field_selectors=("metadata.name",),
)  # fmt: skip

ROLE_BINDINGS = ResourceType(
    group=RBAC_GROUP, version="v1", kind="RoleBinding", plural="rolebindings",
    singular="rolebinding", namespaced=True, list_kind="RoleBindingList",
    name_format="path_segment",
    schema=BINDING_SCHEMA, printer_columns=_BINDING_COLUMNS,
)  # fmt: skip

CLUSTER_ROLE_BINDINGS = ResourceType(
    group=RBAC_GROUP, version="v1", kind="ClusterRoleBinding", plural="clusterrolebindings",
    singular="clusterrolebinding", namespaced=False, list_kind="ClusterRoleBindingList",
    name_format="path_segment",
    schema=BINDING_SCHEMA, printer_columns=_BINDING_COLUMNS,
    field_selectors=("metadata.name",),
)  # fmt: skip

SELF_SUBJECT_ACCESS_REVIEWS = ResourceType(
    group=AUTHORIZATION_GROUP, version="v1", kind="SelfSubjectAccessReview",
    plural="selfsubjectaccessreviews", singular="selfsubjectaccessreview", namespaced=False,
    verbs=("create",), schema=SELF_SUBJECT_ACCESS_REVIEW_SCHEMA,
)  # fmt: skip

ACCESS_TYPES: tuple[ResourceType, ...] = (
    SERVICE_ACCOUNTS,
    ROLES,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    CLUSTER_ROLE_BINDINGS,
    SELF_SUBJECT_ACCESS_REVIEWS,
)


def _admit_rules(namespaced: bool) -> Any:
    def admit(role: dict[str, Any], old: dict[str, Any] | None) -> list[CauseLike]:
        causes: list[CauseLike] = []
        for index, rule in enumerate(role.get("rules") or []):
            path = f"rules[{index}]"
            if not rule.get("verbs"):
                causes.append(Cause("FieldValueRequired", "Required value", f"{path}.verbs"))
            has_urls = bool(rule.get("nonResourceURLs"))
            if has_urls and namespaced:
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        f"Invalid value: {rule['nonResourceURLs']!r}: namespaced rules cannot "
                        "apply to non-resource URLs",
                        f"{path}.nonResourceURLs",
                    )
                )
            if not has_urls and not rule.get("resources"):
                causes.append(
                    Cause(
                        "FieldValueRequired",
                        "Required value: resource rules must supply at least one resource",
                        f"{path}.resources",
                    )
                )
            if has_urls and rule.get("resources"):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: rules cannot apply to both regular resources and "
                        "non-resource URLs",
                        f"{path}.nonResourceURLs",
                    )
                )
        return causes

    return admit


def _admit_binding(cluster: bool) -> Any:
    allowed = ("ClusterRole",) if cluster else ("Role", "ClusterRole")

    def admit(binding: dict[str, Any], old: dict[str, Any] | None) -> list[CauseLike]:
        causes: list[CauseLike] = []
        ref = binding.get("roleRef") or {}
        if ref.get("apiGroup") != RBAC_GROUP:
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{ref.get("apiGroup", "")}": supported values: '
                    f'"{RBAC_GROUP}"',
                    "roleRef.apiGroup",
                )
            )
        if ref.get("kind") not in allowed:
            supported = ", ".join(f'"{kind}"' for kind in allowed)
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{ref.get("kind", "")}": supported values: {supported}',
                    "roleRef.kind",
                )
            )
        if old is not None and old.get("roleRef") != binding.get("roleRef"):
            causes.append(
                Cause("FieldValueInvalid", "Invalid value: cannot change roleRef", "roleRef")
            )
        for index, subject in enumerate(binding.get("subjects") or []):
            if subject.get("kind") == "ServiceAccount" and not subject.get("namespace") and cluster:
                causes.append(
                    Cause("FieldValueRequired", "Required value", f"subjects[{index}].namespace")
                )
        return causes

    return admit


def access_admission_hooks() -> dict[str, Any]:
    """Storage key -> admission hook for the RBAC kinds."""
    return {
        f"{RBAC_GROUP}/roles": _admit_rules(namespaced=True),
        f"{RBAC_GROUP}/clusterroles": _admit_rules(namespaced=False),
        f"{RBAC_GROUP}/rolebindings": _admit_binding(cluster=False),
        f"{RBAC_GROUP}/clusterrolebindings": _admit_binding(cluster=True),
    }
