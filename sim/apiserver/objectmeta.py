"""Validation of `metadata`, the part every kind shares, with the real server's messages.

The messages are the apimachinery validators' own words (kubectl prints them as they come), so
a test or a user who sends a bad name sees exactly what a real cluster would tell them.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sim.apiserver.resources import ResourceType
from sim.apiserver.schema import FieldCause, render_value

TOTAL_ANNOTATION_SIZE_LIMIT = 262144  # bytes, keys and values together

_SUBDOMAIN_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1035_RE = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_RE = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_RE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_SUBDOMAIN_RE}')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    f"used for validation is '{_LABEL_RE}')"
)
DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035_RE}')"
)
_QUALIFIED_NAME_MESSAGE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QUALIFIED_NAME_RE}')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',"
    f"  or '12345', regex used for validation is '{_LABEL_VALUE_RE}')"
)

# name format -> (regex, message, longest allowed)
_NAME_RULES = {
    "subdomain": (_SUBDOMAIN_RE, SUBDOMAIN_MESSAGE, 253),
    "label": (_LABEL_RE, LABEL_MESSAGE, 63),
    "dns1035": (_DNS1035_RE, DNS1035_MESSAGE, 63),
}

# Characters of generated suffixes: no vowels (no words) and no look-alikes, as the real server.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATED_PREFIX = 58


def generate_name(prefix: str) -> str:
    """`prefix` plus five random characters; long prefixes are cut so the name fits 63."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return prefix[:_MAX_GENERATED_PREFIX] + suffix


def name_problems(name: str, name_format: str = "subdomain") -> list[str]:
    """Why `name` is not a valid name of this format (empty when it is)."""
    if name_format == "path_segment":  # RBAC objects: any name usable as a path segment
        return _path_segment_problems(name)
    pattern, message, longest = _NAME_RULES.get(name_format, _NAME_RULES["subdomain"])
    problems = []
    if len(name) > longest:
        problems.append(f"must be no more than {longest} characters")
    if not re.fullmatch(pattern, name):
        problems.append(message)
    return problems


def _path_segment_problems(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


def qualified_name_problems(text: str) -> list[str]:
    """Why `text` is not a qualified name (`prefix.example.com/name` or `name`)."""
    parts = text.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + _QUALIFIED_NAME_MESSAGE + " with an optional DNS subdomain "
            "prefix and '/' (e.g. 'example.com/MyName')"
        ]
    problems = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems.extend("prefix part " + p for p in name_problems(prefix, "subdomain"))
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if name and not re.fullmatch(_QUALIFIED_NAME_RE, name):
        problems.append("name part " + _QUALIFIED_NAME_MESSAGE)
    return problems


def label_value_problems(value: str) -> list[str]:
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not re.fullmatch(_LABEL_VALUE_RE, value):
        problems.append(_LABEL_VALUE_MESSAGE)
    return problems


def _invalid(field: str, value: Any, problem: str) -> FieldCause:
    return FieldCause(
        "FieldValueInvalid", f"Invalid value: {render_value(value)}: {problem}", field
    )


def validate_object_meta(
    obj: dict[str, Any], rtype: ResourceType, *, creating: bool
) -> list[FieldCause]:
    """Every problem with `obj["metadata"]` for this kind, in the real server's order."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [FieldCause("FieldValueRequired", "Required value", "metadata")]
    causes: list[FieldCause] = []
    causes += _validate_name(meta, rtype, creating=creating)
    causes += _validate_namespace(meta, rtype)
    causes += _validate_labels(meta.get("labels"))
    causes += _validate_annotations(meta.get("annotations"))
    causes += _validate_owner_references(meta.get("ownerReferences"))
    causes += _validate_finalizers(meta.get("finalizers"))
    return causes


def _validate_name(
    meta: dict[str, Any], rtype: ResourceType, *, creating: bool
) -> list[FieldCause]:
    name = meta.get("name") or ""
    generate = meta.get("generateName") or ""
    causes = []
    if not isinstance(generate, str):
        causes.append(_invalid("metadata.generateName", generate, "must be a string"))
    elif generate:
        # A prefix may end in '-': the real validator masks a trailing dash before checking.
        masked = generate[:-1] + "a" if generate.endswith("-") else generate
        causes += [
            _invalid("metadata.generateName", generate, p)
            for p in name_problems(masked, rtype.name_format)
        ]
    if not name:
        if not (creating and generate):
            causes.append(
                FieldCause(
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                    "metadata.name",
                )
            )
        return causes
    if not isinstance(name, str):
        return [*causes, _invalid("metadata.name", name, "name must be a string")]
    causes += [_invalid("metadata.name", name, p) for p in name_problems(name, rtype.name_format)]
    return causes


def _validate_namespace(meta: dict[str, Any], rtype: ResourceType) -> list[FieldCause]:
    namespace = meta.get("namespace") or ""
    if not isinstance(namespace, str):
        return [_invalid("metadata.namespace", namespace, "must be a string")]
    if rtype.namespaced and not namespace:
        return [FieldCause("FieldValueRequired", "Required value", "metadata.namespace")]
    if not rtype.namespaced and namespace:
        return [
            FieldCause(
                "FieldValueForbidden", "Forbidden: not allowed on this type", "metadata.namespace"
            )
        ]
    if namespace:
        return [
            _invalid("metadata.namespace", namespace, p) for p in name_problems(namespace, "label")
        ]
    return []


def _validate_labels(labels: Any) -> list[FieldCause]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [_invalid("metadata.labels", labels, "must be a map of strings")]
    causes = []
    for key, value in labels.items():
        causes += [_invalid("metadata.labels", key, p) for p in qualified_name_problems(key)]
        if not isinstance(value, str):
            causes.append(_invalid(f"metadata.labels.{key}", value, "must be a string"))
            continue
        causes += [_invalid("metadata.labels", value, p) for p in label_value_problems(value)]
    return causes


def _validate_annotations(annotations: Any) -> list[FieldCause]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [_invalid("metadata.annotations", annotations, "must be a map of strings")]
    causes = []
    total = 0
    for key, value in annotations.items():
        causes += [
            _invalid("metadata.annotations", key, p) for p in qualified_name_problems(key.lower())
        ]
        if not isinstance(value, str):
            causes.append(_invalid(f"metadata.annotations.{key}", value, "must be a string"))
            continue
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(
            FieldCause(
                "FieldValueTooLong",
                f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes",
                "metadata.annotations",
            )
        )
    return causes


_OWNER_FIELDS = (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid"))


def _validate_owner_references(references: Any) -> list[FieldCause]:
    if references is None:
        return []
    if not isinstance(references, list):
        return [_invalid("metadata.ownerReferences", references, "must be a list")]
    causes = []
    controllers = []
    for reference in references:
        if not isinstance(reference, dict):
            causes.append(_invalid("metadata.ownerReferences", reference, "must be an object"))
            continue
        for field, word in _OWNER_FIELDS:
            if not reference.get(field):
                causes.append(
                    _invalid(f"metadata.ownerReferences.{field}", "", f"{word} must not be empty")
                )
        if reference.get("controller") is True:
            controllers.append(f"{reference.get('kind')}/{reference.get('name')}")
    if len(controllers) > 1:
        causes.append(
            _invalid(
                "metadata.ownerReferences",
                references,
                'Only one reference can have Controller set to true. Found "true" in '
                f"references for {' and '.join(controllers)}",
            )
        )
    return causes


def _validate_finalizers(finalizers: Any) -> list[FieldCause]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [_invalid("metadata.finalizers", finalizers, "must be a list of strings")]
    causes = []
    for index, finalizer in enumerate(finalizers):
        field = f"metadata.finalizers[{index}]"
        if not isinstance(finalizer, str):
            causes.append(_invalid(field, finalizer, "must be a string"))
            continue
        causes += [_invalid(field, finalizer, p) for p in qualified_name_problems(finalizer)]
    return causes
