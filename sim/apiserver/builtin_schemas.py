"""Structural schemas of the built-in kinds the local API server serves.

A real server decodes built-in kinds into Go structs, which drops unknown fields (or refuses them
under `fieldValidation=Strict`). Here the same effect comes from pruning against these schemas,
so every object that declares `properties` lists *all* the real fields of that type: a missing
one would be dropped from valid manifests. Where a full schema would be too large, the node
says `x-kubernetes-preserve-unknown-fields: true` and keeps anything; those places are marked
"deep:" below. Lists that merge in strategic merge patches carry the real
`x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`, which both the patcher and the
OpenAPI document read.

Defaults the real server applies to these kinds (a Deployment's replicas, strategy and limits, a
Service's type, a Secret's type) are `default`s here, so stored objects look as they would.
"""

from __future__ import annotations

from sim.apiserver.meta_schemas import (
    BOOLEAN,
    INT_OR_STRING,
    LABEL_SELECTOR,
    MICRO_TIME,
    OBJECT_META,
    OBJECT_REFERENCE,
    STRING_MAP,
    STRINGS,
    TIME,
    arr,
    condition,
    deep,
    integer,
    merge_list,
    obj,
    string,
    with_meta,
)

NAMESPACE = with_meta(
    {
        "spec": obj({"finalizers": STRINGS}),
        "status": obj(
            {
                "phase": string(enum=["Active", "Terminating"]),
                "conditions": merge_list(condition("lastTransitionTime"), "type"),
            }
        ),
    }
)

CONFIG_MAP = with_meta(
    {
        "data": STRING_MAP,
        "binaryData": {"type": "object", "additionalProperties": string(format="byte")},
        "immutable": BOOLEAN,
    }
)

SECRET = with_meta(
    {
        "data": {"type": "object", "additionalProperties": string(format="byte")},
        "stringData": STRING_MAP,
        "type": string(default="Opaque"),
        "immutable": BOOLEAN,
    }
)

SERVICE_PORT = obj(
    {
        "name": string(), "protocol": string(default="TCP"), "appProtocol": string(),
        "port": integer(), "targetPort": INT_OR_STRING, "nodePort": integer(),
    },
    required=("port",),
)  # fmt: skip

SERVICE = with_meta(
    {
        "spec": obj(
            {
                "ports": merge_list(SERVICE_PORT, "port"),
                "selector": STRING_MAP,
                "clusterIP": string(),
                "clusterIPs": STRINGS,
                "type": string(default="ClusterIP"),
                "externalIPs": STRINGS,
                "sessionAffinity": string(default="None"),
                "loadBalancerIP": string(),
                "loadBalancerSourceRanges": STRINGS,
                "externalName": string(),
                "externalTrafficPolicy": string(),
                "healthCheckNodePort": integer(),
                "publishNotReadyAddresses": BOOLEAN,
                "sessionAffinityConfig": deep(),
                "ipFamilies": STRINGS,
                "ipFamilyPolicy": string(),
                "allocateLoadBalancerNodePorts": BOOLEAN,
                "loadBalancerClass": string(),
                "internalTrafficPolicy": string(),
                "trafficDistribution": string(),
            }
        ),
        "status": deep("deep: loadBalancer ingress points and conditions"),
    }
)

EVENT_SOURCE = obj({"component": string(), "host": string()})
EVENT_SERIES = obj({"count": integer(), "lastObservedTime": MICRO_TIME})

CORE_EVENT = with_meta(
    {
        "involvedObject": OBJECT_REFERENCE,
        "reason": string(),
        "message": string(),
        "source": EVENT_SOURCE,
        "firstTimestamp": TIME,
        "lastTimestamp": TIME,
        "count": integer(),
        "type": string(),
        "eventTime": MICRO_TIME,
        "series": EVENT_SERIES,
        "action": string(),
        "related": OBJECT_REFERENCE,
        "reportingComponent": string(),
        "reportingInstance": string(),
    },
)

EVENTS_V1_EVENT = with_meta(
    {
        "eventTime": MICRO_TIME,
        "series": EVENT_SERIES,
        "reportingController": string(),
        "reportingInstance": string(),
        "action": string(),
        "reason": string(),
        "regarding": OBJECT_REFERENCE,
        "related": OBJECT_REFERENCE,
        "note": string(),
        "type": string(),
        "deprecatedSource": EVENT_SOURCE,
        "deprecatedFirstTimestamp": TIME,
        "deprecatedLastTimestamp": TIME,
        "deprecatedCount": integer(),
    },
    required=("eventTime",),
)

# deep: a container keeps any field; the lists strategic merge patches use are declared.
CONTAINER = obj(
    {
        "name": string(),
        "image": string(),
        "env": merge_list(obj({"name": string()}, required=("name",), preserve=True), "name"),
        "ports": merge_list(
            obj({"containerPort": integer()}, required=("containerPort",), preserve=True),
            "containerPort",
        ),
        "volumeMounts": merge_list(
            obj({"mountPath": string()}, required=("mountPath",), preserve=True), "mountPath"
        ),
    },
    required=("name",),
    preserve=True,
)

# deep: the pod spec keeps any field; containers and volumes are declared for merging.
POD_SPEC = obj(
    {
        "containers": merge_list(CONTAINER, "name"),
        "initContainers": merge_list(CONTAINER, "name"),
        "volumes": merge_list(obj({"name": string()}, required=("name",), preserve=True), "name"),
    },
    preserve=True,
)

DEPLOYMENT = with_meta(
    {
        "spec": obj(
            {
                "replicas": {**integer(), "default": 1},
                "selector": LABEL_SELECTOR,
                "template": obj({"metadata": OBJECT_META, "spec": POD_SPEC}),
                "strategy": {
                    **obj(
                        {
                            "type": string(enum=["Recreate", "RollingUpdate"]),
                            "rollingUpdate": obj(
                                {"maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING}
                            ),
                        }
                    ),
                    "default": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                    },
                },
                "minReadySeconds": integer(),
                "revisionHistoryLimit": {**integer(), "default": 10},
                "paused": BOOLEAN,
                "progressDeadlineSeconds": {**integer(), "default": 600},
            },
            required=("selector", "template"),
        ),
        "status": obj(
            {
                "observedGeneration": integer("int64"),
                "replicas": integer(),
                "updatedReplicas": integer(),
                "readyReplicas": integer(),
                "availableReplicas": integer(),
                "unavailableReplicas": integer(),
                "terminatingReplicas": integer(),
                "conditions": merge_list(condition("lastUpdateTime", "lastTransitionTime"), "type"),
                "collisionCount": integer(),
            }
        ),
    }
)

INGRESS_BACKEND = obj(
    {
        "service": obj(
            {"name": string(), "port": obj({"name": string(), "number": integer()})},
            required=("name",),
        ),
        "resource": deep(),
    }
)

INGRESS = with_meta(
    {
        "spec": obj(
            {
                "ingressClassName": string(),
                "defaultBackend": INGRESS_BACKEND,
                "tls": arr(obj({"hosts": STRINGS, "secretName": string()})),
                "rules": arr(
                    obj(
                        {
                            "host": string(),
                            "http": obj(
                                {
                                    "paths": arr(
                                        obj(
                                            {
                                                "path": string(),
                                                "pathType": string(),
                                                "backend": INGRESS_BACKEND,
                                            },
                                            required=("pathType", "backend"),
                                        )
                                    )
                                },
                                required=("paths",),
                            ),
                        }
                    )
                ),
            }
        ),
        "status": deep("deep: loadBalancer ingress points"),
    }
)

LEASE = with_meta(
    {
        "spec": obj(
            {
                "holderIdentity": string(),
                "leaseDurationSeconds": integer(),
                "acquireTime": MICRO_TIME,
                "renewTime": MICRO_TIME,
                "leaseTransitions": integer(),
                "strategy": string(),
                "preferredHolder": string(),
            }
        )
    }
)

_PRINTER_COLUMN = obj(
    {
        "name": string(), "type": string(), "format": string(), "description": string(),
        "priority": integer(), "jsonPath": string(),
    },
    required=("name", "type", "jsonPath"),
)  # fmt: skip

CUSTOM_RESOURCE_DEFINITION = with_meta(
    {
        "spec": obj(
            {
                "group": string(),
                "names": obj(
                    {
                        "plural": string(),
                        "singular": string(),
                        "shortNames": STRINGS,
                        "kind": string(),
                        "listKind": string(),
                        "categories": STRINGS,
                    },
                    required=("plural", "kind"),
                ),
                "scope": string(),
                "versions": arr(
                    obj(
                        {
                            "name": string(),
                            "served": BOOLEAN,
                            "storage": BOOLEAN,
                            "deprecated": BOOLEAN,
                            "deprecationWarning": string(),
                            # deep: a JSON schema is anything JSONSchemaProps can hold
                            "schema": obj({"openAPIV3Schema": deep()}),
                            "subresources": deep(),
                            "additionalPrinterColumns": arr(_PRINTER_COLUMN),
                            "selectableFields": arr(obj({"jsonPath": string()})),
                        },
                        required=("name", "served", "storage"),
                    )
                ),
                "conversion": deep(),
                "preserveUnknownFields": BOOLEAN,
            },
            required=("group", "names", "scope", "versions"),
        ),
        "status": deep("deep: conditions, acceptedNames, storedVersions"),
    }
)
