"""KServe's ingress settings: the `ingress` key of the `inferenceservice-config` ConfigMap.

KServe reads them from the ConfigMap in its own namespace; the stand-in creates it at start with
KServe's defaults (the ones kcanary relies on) and re-reads it whenever it changes, so a test can
switch Gateway API on, or change the domain, the way an operator would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONFIG_NAMESPACE = "kserve"
CONFIG_NAME = "inferenceservice-config"
INGRESS_KEY = "ingress"

DEFAULT_INGRESS: dict[str, Any] = {
    "ingressGateway": "knative-serving/knative-ingress-gateway",
    "kserveIngressGateway": "kserve/kserve-ingress-gateway",
    "ingressDomain": "example.com",
    "ingressClassName": "istio",
    "domainTemplate": "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}",
    "urlScheme": "http",
    "enableGatewayApi": False,
    "disableIstioVirtualHost": False,
}

_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


@dataclass(frozen=True)
class IngressConfig:
    """The settings of KServe's `ingress` config that shape hosts and ingress objects."""

    ingress_domain: str = "example.com"
    domain_template: str = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
    ingress_gateway: str = "knative-serving/knative-ingress-gateway"
    kserve_ingress_gateway: str = "kserve/kserve-ingress-gateway"
    ingress_class_name: str = "istio"
    url_scheme: str = "http"
    enable_gateway_api: bool = False

    def host(self, name: str, namespace: str) -> str:
        """The public host KServe gives an object `name` (the ISVC, or `<isvc>-predictor`)."""
        values = {"Name": name, "Namespace": namespace, "IngressDomain": self.ingress_domain}
        return _FIELD.sub(lambda m: values.get(m.group(1), ""), self.domain_template)

    def url(self, name: str, namespace: str) -> str:
        return f"{self.url_scheme}://{self.host(name, namespace)}"

    @classmethod
    def from_config_map(cls, config_map: Mapping[str, Any] | None) -> IngressConfig:
        """The settings in the ConfigMap, KServe's defaults for what it lacks or garbles."""
        raw = ((config_map or {}).get("data") or {}).get(INGRESS_KEY)
        try:
            values = {**DEFAULT_INGRESS, **json.loads(raw)} if raw else DEFAULT_INGRESS
        except ValueError:
            values = DEFAULT_INGRESS
        return cls(
            ingress_domain=str(values["ingressDomain"]),
            domain_template=str(values["domainTemplate"]),
            ingress_gateway=str(values["ingressGateway"]),
            kserve_ingress_gateway=str(values["kserveIngressGateway"]),
            ingress_class_name=str(values.get("ingressClassName") or "istio"),
            url_scheme=str(values.get("urlScheme") or "http"),
            enable_gateway_api=bool(values.get("enableGatewayApi")),
        )


def config_map_object(*, enable_gateway_api: bool = False) -> dict[str, Any]:
    """The ConfigMap KServe's installation ships, with its `ingress` key only."""
    ingress = {**DEFAULT_INGRESS, "enableGatewayApi": enable_gateway_api}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_NAME, "namespace": CONFIG_NAMESPACE},
        "data": {INGRESS_KEY: json.dumps(ingress, indent=2)},
    }
