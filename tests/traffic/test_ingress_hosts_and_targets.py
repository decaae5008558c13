"""KServe's ingress settings give the public host and gateway kcanary's route serves."""

from __future__ import annotations

import json
import re

import pytest

from traffic.errors import RouteError
from traffic.ingress_config import IngressConfig, IngressConfigError, parse_ingress_config
from traffic.router import RouterKind
from traffic.target import route_target

ISVC = {"metadata": {"name": "iris", "namespace": "models", "uid": "u-1",
                     "labels": {"team": "ml"}, "annotations": {"tier": "gold"}}}  # fmt: skip


def test_without_a_configmap_kserves_defaults_apply() -> None:
    config = parse_ingress_config(None)
    assert config == IngressConfig()
    assert config.public_hosts("iris", "models") == ("iris-models.example.com",)
    assert config.ingress_gateway == "knative-serving/knative-ingress-gateway"
    assert config.kserve_ingress_gateway == "kserve/kserve-ingress-gateway"
    assert config.enable_gateway_api is False


def test_the_ingress_key_sets_domain_template_and_gateways() -> None:
    ingress = {
        "ingressGateway": "istio-system/public",
        "kserveIngressGateway": "gateways/kserve",
        "ingressDomain": "ml.corp.net",
        "domainTemplate": "{{ .Name }}.{{ .Namespace }}.{{ .Labels.team }}.{{ .IngressDomain }}",
        "additionalIngressDomains": ["ml.example.org"],
        "enableGatewayApi": True,
        "urlScheme": "https",
        "disableIstioVirtualHost": False,
    }
    config = parse_ingress_config({"ingress": json.dumps(ingress), "deploy": "{}"})
    assert config.public_hosts("iris", "models", labels={"team": "ml"}) == (
        "iris.models.ml.ml.corp.net",
        "iris.models.ml.ml.example.org",
    )
    assert config.ingress_gateway == "istio-system/public"
    assert config.kserve_ingress_gateway == "gateways/kserve"
    assert config.enable_gateway_api and config.url_scheme == "https"
    assert config.extra == {"disableIstioVirtualHost": False}


def test_index_syntax_for_annotations_renders() -> None:
    config = IngressConfig(
        domain_template='{{ .Name }}-{{ index .Annotations "tier" }}.{{ .IngressDomain }}'
    )
    assert config.public_hosts("iris", "models", annotations={"tier": "gold"}) == (
        "iris-gold.example.com",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ingress": "{not json"},
         "ConfigMap inferenceservice-config, key 'ingress', is not valid JSON"),
        ({"ingress": "[]"}, "key 'ingress', must be a JSON object, not list"),
        ({"ingress": '{"ingressGateway": "no-namespace"}'},
         "ingress setting 'ingressGateway' is 'no-namespace'; write the gateway as namespace/name"),
        ({"ingress": '{"enableGatewayApi": "yes"}'}, "'enableGatewayApi' must be true or false"),
        ({"ingress": '{"ingressDomain": 5}'}, "ingress setting 'ingressDomain' must be a string"),
    ],
)  # fmt: skip
def test_bad_ingress_settings_say_what_to_fix(data: dict[str, str], message: str) -> None:
    with pytest.raises(IngressConfigError, match=re.escape(message)):
        parse_ingress_config(data)


def test_templates_kcanary_cannot_render_point_to_the_hosts_annotation() -> None:
    config = IngressConfig(domain_template="{{ .Name | lower }}.{{ .IngressDomain }}")
    with pytest.raises(
        IngressConfigError, match=re.escape("set the host with the kcanary.io/hosts")
    ):
        config.public_hosts("iris", "models")
    config = IngressConfig(domain_template="{{ .Name }}_x.{{ .IngressDomain }}")
    with pytest.raises(IngressConfigError, match=re.escape("gives 'iris_x.example.com'")):
        config.public_hosts("iris", "models")


def test_route_targets_take_the_gateway_of_their_router_kind() -> None:
    config = IngressConfig()
    istio = route_target(ISVC, config, kind=RouterKind.ISTIO)
    assert istio.hosts == ("iris-models.example.com",)
    assert istio.gateways == ("knative-serving/knative-ingress-gateway",)
    assert (istio.stable_service, istio.canary_service) == (
        "iris-primary-predictor",
        "iris-predictor",
    )
    assert istio.route_name == "iris-kcanary" and istio.adopted_route is None
    gateway = route_target(ISVC, config, kind=RouterKind.GATEWAY_API)
    assert gateway.gateways == ("kserve/kserve-ingress-gateway",)
    assert route_target(ISVC, config, kind=RouterKind.KSERVE).gateways == ()


def test_annotations_override_hosts_gateways_and_name_the_route_to_adopt() -> None:
    target = route_target(
        ISVC,
        IngressConfig(),
        kind=RouterKind.ISTIO,
        hosts=["iris.ml.corp.net"],
        gateways=["istio-system/internal", "mesh"],
        adopted_route="iris-route",
    )
    assert target.hosts == ("iris.ml.corp.net",)
    assert target.gateways == ("istio-system/internal", "mesh")
    assert target.route_name == "iris-route"


def test_bad_gateway_overrides_and_incomplete_isvcs_are_refused() -> None:
    with pytest.raises(
        RouteError, match=re.escape("gateway 'a/b/c' for InferenceService models/iris")
    ):
        route_target(ISVC, IngressConfig(), kind=RouterKind.ISTIO, gateways=["a/b/c"])
    with pytest.raises(RouteError, match="has no name, namespace or uid"):
        route_target({"metadata": {"name": "iris"}}, IngressConfig(), kind=RouterKind.ISTIO)
