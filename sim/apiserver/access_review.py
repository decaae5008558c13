"""SelfSubjectAccessReview: a client asks whether it may do something (`kubectl auth can-i`).

Not stored: the server answers in the created object's `status`, from the same authorizer
that decides real requests.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver import decoding, errors, protobuf
from sim.apiserver.errors import Cause
from sim.apiserver.identity import UserInfo
from sim.apiserver.rbac import Attributes, Authorizer
from sim.apiserver.rbac_kinds import SELF_SUBJECT_ACCESS_REVIEWS


def review(
    body: bytes, content_type: str, user: UserInfo, authorizer: Authorizer
) -> dict[str, Any]:
    """The review with its `status` filled in, or the 422/400 a real server gives."""
    decoded: Any
    if decoding.media_type(content_type) == decoding.PROTOBUF:  # kubectl's typed client
        try:
            decoded, _, _ = protobuf.decode_object(body)
        except (protobuf.ProtobufError, UnicodeDecodeError) as error:
            raise errors.bad_request(str(error)) from None
    else:
        decoded = decoding.decode_object(body, content_type)
    if not isinstance(decoded, dict):
        raise errors.bad_request("a SelfSubjectAccessReview object is required")
    spec = decoded.get("spec")
    resource = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    non_resource = spec.get("nonResourceAttributes") if isinstance(spec, dict) else None
    if isinstance(resource, dict) == isinstance(non_resource, dict):
        raise errors.invalid(
            SELF_SUBJECT_ACCESS_REVIEWS,
            "",
            [
                Cause(
                    "FieldValueRequired",
                    "Required value: exactly one of nonResourceAttributes or "
                    "resourceAttributes must be specified",
                    "spec.resourceAttributes",
                )
            ],
        )
    if isinstance(resource, dict):
        attributes = Attributes(
            verb=str(resource.get("verb", "")),
            resource_request=True,
            group=str(resource.get("group", "")),
            resource=str(resource.get("resource", "")),
            subresource=str(resource.get("subresource", "")),
            namespace=str(resource.get("namespace", "")),
            name=str(resource.get("name", "")),
        )
    else:
        assert isinstance(non_resource, dict)
        attributes = Attributes(
            verb=str(non_resource.get("verb", "")),
            resource_request=False,
            path=str(non_resource.get("path", "")),
        )
    allowed = authorizer.allowed(user, attributes)
    metadata = decoded.get("metadata") if isinstance(decoded.get("metadata"), dict) else {}
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {**(metadata or {}), "creationTimestamp": None},
        "spec": spec,
        "status": {"allowed": allowed},
    }
