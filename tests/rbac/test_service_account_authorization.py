"""A ServiceAccount may do what Roles, ClusterRoles and their bindings allow, and nothing else:
the real authorizer's semantics and 403 Status bodies, seen through kubectl and raw HTTP."""

from __future__ import annotations

import json

import pytest
import requests
from kubectl_harness import Kubectl, unique_name
from rbac_access import Account

from sim.apiserver.server import APIServer

ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices"


def isvc_manifest(name: str, namespace: str) -> str:
    return f"""\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  predictor:
    model:
      modelFormat: {{name: sklearn}}
      storageUri: s3://models/iris/v1
"""


def grant(admin: Kubectl, account: Account, rules: str, *, cluster: bool = False) -> None:
    """Bind `account` to a new Role (or ClusterRole) with `rules` (YAML list text)."""
    name = unique_name("role")
    role_kind = "ClusterRole" if cluster else "Role"
    namespace_line = "" if cluster else f"\n  namespace: {account.namespace}"
    admin.run(
        "apply",
        "-f",
        "-",
        input=f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: {role_kind}
metadata:
  name: {name}{namespace_line}
rules:
{rules}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {role_kind}Binding
metadata:
  name: {name}{namespace_line}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {name}}}
subjects:
- {{kind: ServiceAccount, name: {account.name}, namespace: {account.namespace}}}
""",
    )


def test_an_unbound_service_account_gets_the_real_forbidden_status(
    api_server: APIServer, pinned_kubectl: Kubectl, account: Account
) -> None:
    pinned_kubectl.run("apply", "-f", "-", input=isvc_manifest("iris", account.namespace))
    url = api_server.url + ISVC_PATH.format(namespace=account.namespace) + "/iris"
    with account.session() as session:
        reply = session.patch(
            url,
            data=json.dumps({"spec": {"predictor": {"canaryTrafficPercent": 10}}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    assert reply.status_code == 403
    assert reply.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'inferenceservices.serving.kserve.io "iris" is forbidden: '
        f'User "{account.user}" cannot patch resource "inferenceservices" in API group '
        f'"serving.kserve.io" in the namespace "{account.namespace}"',
        "reason": "Forbidden",
        "details": {"name": "iris", "group": "serving.kserve.io", "kind": "inferenceservices"},
        "code": 403,
    }


def test_a_role_binding_grants_its_verbs_in_its_namespace_only(
    pinned_kubectl: Kubectl, account: Account
) -> None:
    grant(
        pinned_kubectl,
        account,
        '- {apiGroups: [""], resources: [configmaps], verbs: [get, list, create]}',
    )
    as_account = account.kubectl
    as_account.run("create", "configmap", "settings", "-n", account.namespace)
    listed = as_account.run("get", "configmaps", "-n", account.namespace, "-o", "name")
    assert "configmap/settings" in listed.stdout
    deleted = as_account.run(
        "delete", "configmap", "settings", "-n", account.namespace, check=False
    )
    assert deleted.returncode != 0
    assert (
        f'Error from server (Forbidden): configmaps "settings" is forbidden: User '
        f'"{account.user}" cannot delete resource "configmaps" in API group "" in the namespace '
        f'"{account.namespace}"'
    ) in deleted.stderr
    elsewhere = as_account.run("get", "configmaps", "-n", "default", check=False)
    assert (
        f'configmaps is forbidden: User "{account.user}" cannot list resource "configmaps" in API '
        'group "" in the namespace "default"'
    ) in elsewhere.stderr
    everywhere = as_account.run("get", "configmaps", "-A", check=False)
    assert "at the cluster scope" in everywhere.stderr


def test_resource_names_limit_a_rule_to_the_named_objects(
    pinned_kubectl: Kubectl, account: Account
) -> None:
    for name in ("allowed", "other"):
        pinned_kubectl.run("create", "configmap", name, "-n", account.namespace)
    grant(
        pinned_kubectl,
        account,
        '- {apiGroups: [""], resources: [configmaps], resourceNames: [allowed], verbs: [get]}',
    )
    assert account.kubectl.run("get", "cm", "allowed", "-n", account.namespace).returncode == 0
    other = account.kubectl.run("get", "cm", "other", "-n", account.namespace, check=False)
    assert 'configmaps "other" is forbidden' in other.stderr
    listing = account.kubectl.run("get", "cm", "-n", account.namespace, check=False)
    assert "cannot list resource" in listing.stderr


def test_list_and_watch_are_separate_verbs(
    api_server: APIServer, pinned_kubectl: Kubectl, account: Account
) -> None:
    grant(pinned_kubectl, account, '- {apiGroups: [""], resources: [configmaps], verbs: [list]}')
    url = f"{api_server.url}/api/v1/namespaces/{account.namespace}/configmaps"
    with account.session() as session:
        assert session.get(url).status_code == 200
        watched = session.get(url, params={"watch": "1"}, stream=True, timeout=10)
        assert watched.status_code == 403
        assert "cannot watch resource" in watched.json()["message"]


def test_subresources_need_rules_of_their_own(
    api_server: APIServer, pinned_kubectl: Kubectl, account: Account
) -> None:
    pinned_kubectl.run("apply", "-f", "-", input=isvc_manifest("iris", account.namespace))
    grant(
        pinned_kubectl,
        account,
        "- {apiGroups: [serving.kserve.io], resources: [inferenceservices/status], verbs: [patch]}",
    )
    url = api_server.url + ISVC_PATH.format(namespace=account.namespace) + "/iris"
    patch = json.dumps({"status": {"url": "http://iris.example.com"}})
    headers = {"Content-Type": "application/merge-patch+json"}
    with account.session() as session:
        assert session.patch(url + "/status", data=patch, headers=headers).status_code == 200
        main = session.patch(url, data=patch, headers=headers)
    assert main.status_code == 403
    assert 'cannot patch resource "inferenceservices" in API group' in main.json()["message"]


def test_wildcards_and_group_subjects_cover_every_account_of_a_namespace(
    pinned_kubectl: Kubectl, account: Account
) -> None:
    name = unique_name("crb")
    pinned_kubectl.run(
        "apply",
        "-f",
        "-",
        input=f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules:
- {{apiGroups: ["*"], resources: ["*"], verbs: [get]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: "system:serviceaccounts:{account.namespace}"
""",
    )
    try:
        got = account.kubectl.run("get", "namespace", account.namespace, "-o", "name")
        assert got.stdout.strip() == f"namespace/{account.namespace}"
        listed = account.kubectl.run("get", "namespaces", check=False)
        assert "cannot list resource" in listed.stderr
    finally:
        pinned_kubectl.run("delete", "clusterrolebinding,clusterrole", name)


def test_every_authenticated_user_may_read_discovery_and_openapi(
    api_server: APIServer, account: Account
) -> None:
    resources = account.kubectl.run("api-resources", "-o", "name")
    assert "inferenceservices.serving.kserve.io" in resources.stdout.split()
    with account.session() as session:
        assert session.get(api_server.url + "/openapi/v3").status_code == 200
        assert session.get(api_server.url + "/version").status_code == 200
        other = session.get(api_server.url + "/metrics")
    assert other.status_code == 403
    assert other.json()["message"] == (
        f'forbidden: User "{account.user}" cannot get path "/metrics"'
    )


def test_kubectl_auth_can_i_answers_from_the_rules(
    pinned_kubectl: Kubectl, account: Account
) -> None:
    grant(
        pinned_kubectl,
        account,
        "- {apiGroups: [serving.kserve.io], resources: [inferenceservices], verbs: [get, patch]}\n"
        "- {apiGroups: [serving.kserve.io], resources: [inferenceservices/finalizers], "
        "verbs: [update]}",
    )
    namespace = account.namespace

    def can_i(*args: str) -> tuple[int, str]:
        done = account.kubectl.run("auth", "can-i", *args, "-n", namespace, check=False)
        return done.returncode, done.stdout.strip()

    assert can_i("patch", "isvc") == (0, "yes")
    assert can_i("patch", "inferenceservices.serving.kserve.io/iris") == (0, "yes")
    assert can_i("update", "inferenceservices", "--subresource=finalizers") == (0, "yes")
    assert can_i("delete", "isvc") == (1, "no")
    assert can_i("get", "configmaps") == (1, "no")
    assert can_i("get", "/openapi/v3") == (0, "yes")
    admin = pinned_kubectl.run("auth", "can-i", "*", "*", "--all-namespaces")
    assert admin.stdout.strip() == "yes"


def test_a_deleted_service_accounts_token_no_longer_authenticates(
    api_server: APIServer, pinned_kubectl: Kubectl, account: Account
) -> None:
    with account.session() as session:
        assert session.get(api_server.url + "/version").status_code == 200
        pinned_kubectl.run("delete", "serviceaccount", account.name, "-n", account.namespace)
        assert session.get(api_server.url + "/version").status_code == 401


@pytest.mark.parametrize("finalizers_granted", [False, True], ids=["denied", "granted"])
def test_blocking_owner_deletion_needs_update_on_the_owners_finalizers(
    api_server: APIServer, pinned_kubectl: Kubectl, account: Account, finalizers_granted: bool
) -> None:
    pinned_kubectl.run("apply", "-f", "-", input=isvc_manifest("iris", account.namespace))
    owner = json.loads(
        pinned_kubectl.run("get", "isvc", "iris", "-n", account.namespace, "-o", "json").stdout
    )
    rules = '- {apiGroups: [""], resources: [configmaps], verbs: [create]}'
    if finalizers_granted:
        rules += (
            "\n- {apiGroups: [serving.kserve.io], resources: [inferenceservices/finalizers], "
            "verbs: [update]}"
        )
    grant(pinned_kubectl, account, rules)
    reference = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "name": "iris",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "iris-owned", "ownerReferences": [reference]},
    }
    url = f"{api_server.url}/api/v1/namespaces/{account.namespace}/configmaps"
    with account.session() as session:
        reply = session.post(url, json=body)
        unblocking = session.post(
            url,
            json={
                **body,
                "metadata": {
                    "name": "iris-not-blocking",
                    "ownerReferences": [{**reference, "blockOwnerDeletion": False}],
                },
            },
        )
    assert unblocking.status_code == 201
    if finalizers_granted:
        assert reply.status_code == 201, reply.text
        return
    assert reply.status_code == 403
    assert reply.json()["message"] == (
        'configmaps "iris-owned" is forbidden: cannot set blockOwnerDeletion if an '
        "ownerReference refers to a resource you can't set finalizers on: , <nil>"
    )


def test_rbac_objects_print_as_on_a_real_server(pinned_kubectl: Kubectl, account: Account) -> None:
    grant(pinned_kubectl, account, '- {apiGroups: [""], resources: [configmaps], verbs: [get]}')
    wide = pinned_kubectl.run("get", "rolebindings", "-n", account.namespace, "-o", "wide")
    header = wide.stdout.splitlines()[0].split()
    assert header == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert f"{account.namespace}/{account.name}" in wide.stdout
    assert "Role/role-" in wide.stdout
    accounts = pinned_kubectl.run("get", "sa", "-n", account.namespace)
    assert accounts.stdout.splitlines()[0].split() == ["NAME", "SECRETS", "AGE"]
    defaults = pinned_kubectl.run("get", "clusterrole", "system:discovery", "cluster-admin")
    assert defaults.stdout.splitlines()[0].split() == ["NAME", "CREATED", "AT"]


def test_requests_without_a_known_token_are_unauthorized(api_server: APIServer) -> None:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(api_server.ca_path)
        session.headers["Authorization"] = "Bearer not-a-token"
        assert session.get(api_server.url + "/version").status_code == 401
