"""What a write sends, decoded: the object in JSON, YAML or (for a few built-in kinds)
protobuf, the configuration a server-side apply carries, and the Scale of a write to the scale
subresource turned back into the whole object.

Decoding errors read as the real server's, prefixed with what could not be handled as what.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver import decoding, errors, protobuf, strategy
from sim.apiserver.calls import APICall
from sim.apiserver.lifecycle import copy_of
from sim.apiserver.patching import apply_patch
from sim.apiserver.resources import ResourceType
from sim.apiserver.scale import SCALE, scale_of, with_scale
from sim.apiserver.store import StoredObject


def decode_body(call: APICall, rtype: ResourceType) -> dict[str, Any]:
    """The object a create or update sends, or 415 for a media type the kind does not take."""
    accepted = decoding.BUILTIN_BODY_TYPES if rtype.builtin else decoding.CUSTOM_RESOURCE_BODY_TYPES
    media = decoding.media_type(call.content_type) or decoding.JSON
    if media == decoding.PROTOBUF and rtype.builtin:
        body = _decode_protobuf(call.body, rtype)
    elif media not in (decoding.JSON, decoding.YAML):
        raise errors.unsupported_media_type(accepted)
    else:
        body = decoding.decode_object(call.body, call.content_type)
    return strategy.require_object(body, rtype)


def applied_configuration(call: APICall) -> dict[str, Any] | None:
    """The configuration a server-side apply sends (None for every other write)."""
    if call.request.verb != "patch":
        return None
    if decoding.media_type(call.content_type) != decoding.APPLY_PATCH:
        return None
    body = decoding.decode_yaml(call.body)
    return body if isinstance(body, dict) else None


def put_scale(call: APICall, stored: StoredObject, rtype: ResourceType) -> dict[str, Any]:
    """The object with the replicas of the Scale a PUT on the scale subresource sends."""
    body = decoding.decode_object(call.body, call.content_type)
    if not isinstance(body, dict):
        raise errors.bad_request("a Scale object is required")
    return with_scale(copy_of(stored), rtype, body, stored)


def patched_scale(call: APICall, stored: StoredObject, rtype: ResourceType) -> dict[str, Any]:
    """The object with the replicas of its Scale as patched by the request."""
    current = scale_of(stored.obj, rtype)
    patched = apply_patch(call.content_type, call.body, current, SCALE)
    return with_scale(copy_of(stored), rtype, patched, stored)


def _decode_protobuf(raw: bytes, rtype: ResourceType) -> dict[str, Any]:
    try:
        obj, _, _ = protobuf.decode_object(raw)
    except (protobuf.ProtobufError, UnicodeDecodeError) as error:
        raise errors.bad_request(f"{decode_prefix(rtype)}{error}") from None
    if obj is None:
        # this server reads protobuf for a few simple kinds only; JSON works for all
        raise errors.unsupported_media_type(decoding.CUSTOM_RESOURCE_BODY_TYPES)
    return obj


def decode_prefix(rtype: ResourceType) -> str:
    """How the real server starts the message of a body it cannot decode as the kind."""
    return f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
