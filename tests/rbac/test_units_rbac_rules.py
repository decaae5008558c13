"""One PolicyRule against one request: the real authorizer's matching of verbs, groups,
resources, subresources, names and non-resource paths."""

from __future__ import annotations

from typing import Any

import pytest

from sim.apiserver.identity import service_account_user
from sim.apiserver.rbac import Attributes, forbidden_reason, rule_allows


def resource(
    verb: str, resource: str, *, sub: str = "", name: str = "", group: str = "g"
) -> Attributes:
    return Attributes(
        verb=verb,
        resource_request=True,
        group=group,
        resource=resource,
        subresource=sub,
        namespace="ns",
        name=name,
    )


RULE: dict[str, Any] = {"apiGroups": ["g"], "resources": ["things"], "verbs": ["get", "list"]}


@pytest.mark.parametrize(
    ("rule", "attributes", "allowed"),
    [
        (RULE, resource("get", "things"), True),
        (RULE, resource("watch", "things"), False),
        (RULE, resource("get", "things", group="other"), False),
        (RULE, resource("get", "things", sub="status"), False),
        ({**RULE, "verbs": ["*"]}, resource("delete", "things"), True),
        ({**RULE, "apiGroups": ["*"]}, resource("get", "things", group="x"), True),
        ({**RULE, "resources": ["*"]}, resource("get", "things", sub="status"), True),
        ({**RULE, "resources": ["things/status"]}, resource("get", "things", sub="status"), True),
        ({**RULE, "resources": ["things/status"]}, resource("get", "things"), False),
        ({**RULE, "resources": ["*/status"]}, resource("get", "others", sub="status"), True),
        ({**RULE, "resources": ["*/status"]}, resource("get", "others", sub="scale"), False),
        ({**RULE, "resourceNames": ["a"]}, resource("get", "things", name="a"), True),
        ({**RULE, "resourceNames": ["a"]}, resource("get", "things", name="b"), False),
        ({**RULE, "resourceNames": ["a"]}, resource("list", "things"), False),
        (
            {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]},
            Attributes(verb="get", resource_request=False, path="/apis/g/v1"),
            True,
        ),
        (
            {"nonResourceURLs": ["/apis"], "verbs": ["get"]},
            Attributes(verb="get", resource_request=False, path="/apis/g"),
            False,
        ),
        (RULE, Attributes(verb="get", resource_request=False, path="/apis"), False),
    ],
)
def test_a_rule_covers_exactly_what_the_real_authorizer_lets_it(
    rule: dict[str, Any], attributes: Attributes, allowed: bool
) -> None:
    assert rule_allows(rule, attributes) is allowed


def test_the_forbidden_reason_names_the_subresource_and_scope() -> None:
    user = service_account_user("kcanary-system", "kcanary-controller")
    status = Attributes(
        verb="update",
        resource_request=True,
        group="kcanary.io",
        resource="inferencerollouts",
        subresource="status",
    )
    assert forbidden_reason(user, status) == (
        'User "system:serviceaccount:kcanary-system:kcanary-controller" cannot update resource '
        '"inferencerollouts/status" in API group "kcanary.io" at the cluster scope'
    )
