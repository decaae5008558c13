"""Which objects a list or watch returns: label and field selectors, and paging with
`limit` and `continue` tokens shaped like the real server's (base64 JSON naming the list's
resourceVersion and the key to start after).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from sim.apiserver import errors, selectors
from sim.apiserver.resources import ResourceType


def int_param(query: Mapping[str, str], key: str) -> int:
    value = query.get(key)
    if not value:
        return 0
    try:
        number = int(value)
    except ValueError:
        raise errors.bad_request(
            f'invalid value for {key}: strconv.ParseInt: parsing "{value}": invalid syntax'
        ) from None
    return max(number, 0)


def selection_predicate(
    query: Mapping[str, str], rtype: ResourceType
) -> Callable[[dict[str, Any]], bool] | None:
    """The label and field selectors of a list or watch as one test, or None for everything."""
    label_text = query.get("labelSelector", "")
    field_text = query.get("fieldSelector", "")
    try:
        label_selector = selectors.parse_label_selector(label_text) if label_text else None
        field_selector = selectors.parse_field_selector(field_text, rtype) if field_text else None
    except selectors.SelectorError as error:
        raise errors.bad_request(str(error)) from None
    if label_selector is None and field_selector is None:
        return None

    def matches(obj: dict[str, Any]) -> bool:
        if label_selector is not None:
            labels = obj["metadata"].get("labels") or {}
            if not label_selector.matches(labels):
                return False
        return field_selector is None or field_selector.matches(obj)

    return matches


def encode_continue(resource_version: int, after: tuple[str, str]) -> str:
    start = f"{after[0]}/{after[1]}" if after[0] else after[1]
    token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        start = str(decoded["start"]).rstrip("\x00")
        rv = int(decoded["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.bad_request("continue key is not valid: incorrect encoded start") from None
    namespace, _, name = start.rpartition("/")
    return rv, (namespace, name)
