"""PATCH bodies: which patch formats a kind accepts (415 otherwise, with the real message)
and applying them to the current object.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver import decoding, errors, patch
from sim.apiserver.errors import StatusError
from sim.apiserver.resources import ResourceType


def apply_patch(
    content_type: str, body: bytes, current: dict[str, Any], rtype: ResourceType
) -> dict[str, Any]:
    """`current` with the patch applied; never changes `current`."""
    media = decoding.media_type(content_type)
    accepted = (
        decoding.BUILTIN_PATCH_TYPES if rtype.builtin else decoding.CUSTOM_RESOURCE_PATCH_TYPES
    )
    if media not in accepted:
        raise errors.unsupported_media_type(accepted)
    try:
        if media == decoding.JSON_PATCH:
            operations = decoding.decode_json(body)
            result = patch.json_patch(current, operations)
        elif media == decoding.MERGE_PATCH:
            result = patch.merge_patch(current, _patch_object(body))
        elif media == decoding.STRATEGIC_MERGE_PATCH:
            result = patch.strategic_merge_patch(current, _patch_object(body), rtype)
        else:
            applied = decoding.decode_yaml(body)
            if not isinstance(applied, dict):
                raise errors.bad_request("error decoding YAML: the apply patch must be an object")
            result = patch.merge_patch(current, applied)
    except patch.PatchError as error:
        reason = "BadRequest" if error.code == 400 else "Invalid"
        raise StatusError(error.code, reason, error.message) from None
    if not isinstance(result, dict):
        raise errors.bad_request("the patch did not produce an object")
    return result


def _patch_object(raw: bytes) -> Any:
    document = decoding.decode_json(raw)
    if not isinstance(document, dict):
        raise errors.bad_request(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    return document
