"""The roles and bindings a fresh cluster has, which every authenticated user relies on.

Only the ones that matter to clients here: `cluster-admin` (bound to `system:masters`),
`system:discovery` and `system:public-info-viewer` (discovery, OpenAPI, /version and the health
paths for every authenticated user: without them kubectl cannot even map a resource name) and
`system:basic-user` (SelfSubjectAccessReview, which `kubectl auth can-i` uses). They carry the
real `kubernetes.io/bootstrapping: rbac-defaults` label.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver.identity import AUTHENTICATED, MASTERS
from sim.apiserver.rbac_kinds import RBAC_GROUP

_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": dict(_LABELS), "annotations": dict(_ANNOTATIONS)},
        "rules": rules,
    }


def _binding(name: str, group: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(_LABELS), "annotations": dict(_ANNOTATIONS)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
    }


DEFAULT_CLUSTER_ROLES: tuple[dict[str, Any], ...] = (
    _role(
        "cluster-admin",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
    ),
    _role(
        "system:discovery",
        [
            {
                "nonResourceURLs": [
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
                "verbs": ["get"],
            }
        ],
    ),
    _role(
        "system:public-info-viewer",
        [
            {
                "nonResourceURLs": [
                    "/healthz",
                    "/livez",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
                "verbs": ["get"],
            }
        ],
    ),
    _role(
        "system:basic-user",
        [
            {
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                "verbs": ["create"],
            }
        ],
    ),
)

DEFAULT_CLUSTER_ROLE_BINDINGS: tuple[dict[str, Any], ...] = (
    _binding("cluster-admin", MASTERS),
    _binding("system:discovery", AUTHENTICATED),
    _binding("system:public-info-viewer", AUTHENTICATED),
    _binding("system:basic-user", AUTHENTICATED),
)
