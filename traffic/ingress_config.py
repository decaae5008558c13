"""KServe's ingress settings: which gateways its routes attach to and which host an ISVC gets.

KServe reads them from the ``ingress`` key (JSON) of its ``inferenceservice-config``
ConfigMap. kcanary's own route must serve the public host KServe would give the ISVC and attach
to the same gateway, so it reads the same settings and renders the same domain template. The
caller fetches the ConfigMap (it lives in KServe's namespace) and passes its ``data`` here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from traffic.store import ObjectRef, ResourceType, Store

__all__ = [
    "CONFIGMAP_NAME",
    "CONFIG_MAP",
    "DEFAULT_DOMAIN_TEMPLATE",
    "IngressConfig",
    "IngressConfigError",
    "parse_ingress_config",
    "read_ingress_config",
]

CONFIGMAP_NAME = "inferenceservice-config"
CONFIG_MAP = ResourceType("", "v1", "ConfigMap", "configmaps")
DEFAULT_DOMAIN_TEMPLATE = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"

_TEMPLATE_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_FIELD = re.compile(r"^\.(Name|Namespace|IngressDomain)$")
_MAP_FIELD = re.compile(r"^\.(Annotations|Labels)\.([A-Za-z0-9_]+)$")
_MAP_INDEX = re.compile(r'^index\s+\.(Annotations|Labels)\s+"([^"]+)"$')
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class IngressConfigError(ValueError):
    """KServe's ingress settings cannot be used; the message names the setting to fix."""


@dataclass(frozen=True)
class IngressConfig:
    """The ingress settings kcanary needs, with KServe's defaults."""

    ingress_domain: str = "example.com"
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    additional_ingress_domains: tuple[str, ...] = ()
    ingress_gateway: str = "knative-serving/knative-ingress-gateway"
    """The Istio Gateway (``namespace/name``) that VirtualServices attach to."""
    kserve_ingress_gateway: str = "kserve/kserve-ingress-gateway"
    """The Gateway API Gateway (``namespace/name``) that HTTPRoutes attach to."""
    enable_gateway_api: bool = False
    url_scheme: str = "http"
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Settings kcanary does not use, kept for diagnostics."""

    def public_hosts(
        self,
        name: str,
        namespace: str,
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> tuple[str, ...]:
        """The hosts KServe gives ISVC ``namespace/name``: the main domain, then extra ones."""
        domains = (self.ingress_domain, *self.additional_ingress_domains)
        hosts = [
            self._render(name, namespace, domain, labels or {}, annotations or {})
            for domain in domains
        ]
        return tuple(dict.fromkeys(hosts))

    def _render(
        self,
        name: str,
        namespace: str,
        domain: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> str:
        values = {"Name": name, "Namespace": namespace, "IngressDomain": domain}
        maps = {"Labels": labels, "Annotations": annotations}

        def substitute(match: re.Match[str]) -> str:
            action = match.group(1)
            if simple := _FIELD.match(action):
                return values[simple.group(1)]
            keyed = _MAP_FIELD.match(action) or _MAP_INDEX.match(action)
            if keyed:
                return maps[keyed.group(1)].get(keyed.group(2), "")
            raise IngressConfigError(
                f"domainTemplate {self.domain_template!r} uses {{{{ {action} }}}}, which kcanary "
                "cannot render; use .Name, .Namespace, .IngressDomain, .Labels.KEY or "
                ".Annotations.KEY, or set the host with the kcanary.io/hosts annotation"
            )

        host = _TEMPLATE_ACTION.sub(substitute, self.domain_template)
        if not _DNS_NAME.match(host) or len(host) > 253:
            raise IngressConfigError(
                f"domainTemplate {self.domain_template!r} gives {host!r} for {namespace}/{name}, "
                "which is not a valid DNS name; fix the template or set kcanary.io/hosts"
            )
        return host


def read_ingress_config(store: Store, namespace: str = "kserve") -> IngressConfig:
    """The settings in KServe's ConfigMap in ``namespace`` (KServe's defaults if it is absent)."""
    config_map = store.get(ObjectRef(CONFIG_MAP, namespace, CONFIGMAP_NAME))
    return parse_ingress_config((config_map or {}).get("data"))


def parse_ingress_config(data: Mapping[str, str] | None) -> IngressConfig:
    """The settings in the ConfigMap's ``data``; KServe's defaults for what is missing.

    ``None`` (no ConfigMap) gives all defaults, as KServe would.
    """
    raw = (data or {}).get("ingress")
    if raw is None or not raw.strip():
        return IngressConfig()
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as error:
        raise IngressConfigError(
            f"ConfigMap {CONFIGMAP_NAME}, key 'ingress', is not valid JSON: {error}"
        ) from None
    if not isinstance(settings, dict):
        raise IngressConfigError(
            f"ConfigMap {CONFIGMAP_NAME}, key 'ingress', must be a JSON object, "
            f"not {type(settings).__name__}"
        )
    defaults = IngressConfig()
    known = {
        "ingressDomain",
        "domainTemplate",
        "additionalIngressDomains",
        "ingressGateway",
        "kserveIngressGateway",
        "enableGatewayApi",
        "urlScheme",
    }
    return IngressConfig(
        ingress_domain=_text(settings, "ingressDomain", defaults.ingress_domain),
        domain_template=_text(settings, "domainTemplate", defaults.domain_template),
        additional_ingress_domains=_texts(settings, "additionalIngressDomains"),
        ingress_gateway=_gateway(settings, "ingressGateway", defaults.ingress_gateway),
        kserve_ingress_gateway=_gateway(
            settings, "kserveIngressGateway", defaults.kserve_ingress_gateway
        ),
        enable_gateway_api=_flag(settings, "enableGatewayApi"),
        url_scheme=_text(settings, "urlScheme", defaults.url_scheme),
        extra={key: value for key, value in settings.items() if key not in known},
    )


def _text(settings: Mapping[str, Any], key: str, default: str) -> str:
    value = settings.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise IngressConfigError(f"ingress setting {key!r} must be a string, not {value!r}")
    return value


def _texts(settings: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = settings.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise IngressConfigError(f"ingress setting {key!r} must be a list of strings")
    return tuple(value)


def _flag(settings: Mapping[str, Any], key: str) -> bool:
    value = settings.get(key, False)
    if not isinstance(value, bool):
        raise IngressConfigError(f"ingress setting {key!r} must be true or false, not {value!r}")
    return value


def _gateway(settings: Mapping[str, Any], key: str, default: str) -> str:
    value = _text(settings, key, default)
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise IngressConfigError(
            f"ingress setting {key!r} is {value!r}; write the gateway as namespace/name"
        )
    return value
