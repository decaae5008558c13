"""metadata validation with the real apimachinery messages."""

from __future__ import annotations

from typing import Any

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.objectmeta import generate_name, validate_object_meta
from sim.apiserver.resources import ResourceType
from sim.apiserver.schema import FieldCause

CONFIGMAPS = next(t for t in BUILTIN_TYPES if t.plural == "configmaps")
NAMESPACES = next(t for t in BUILTIN_TYPES if t.plural == "namespaces")
SERVICES = next(t for t in BUILTIN_TYPES if t.plural == "services")


def _causes(meta: dict[str, Any], rtype: ResourceType = CONFIGMAPS) -> list[FieldCause]:
    return validate_object_meta({"metadata": meta}, rtype, creating=True)


def test_a_valid_object_has_no_causes() -> None:
    meta = {
        "name": "iris.v2",
        "namespace": "models",
        "labels": {"app.kubernetes.io/name": "iris", "empty": ""},
        "annotations": {"kcanary.io/steps": "10,25"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u"}],
        "finalizers": ["kcanary.io/cleanup"],
    }
    assert _causes(meta) == []


def test_name_or_generate_name_is_required() -> None:
    assert _causes({"namespace": "d"}) == [
        FieldCause(
            "FieldValueRequired",
            "Required value: name or generateName is required",
            "metadata.name",
        )
    ]
    assert _causes({"namespace": "d", "generateName": "iris-"}) == []


def test_subdomain_name_message() -> None:
    (cause,) = _causes({"name": "Iris_1", "namespace": "d"})
    assert cause.field == "metadata.name"
    assert cause.message == (
        'Invalid value: "Iris_1": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def test_namespaces_follow_the_label_rule_and_services_dns_1035() -> None:
    (cause,) = _causes({"name": "a.b"}, NAMESPACES)
    assert "a lowercase RFC 1123 label must consist of" in cause.message
    (cause,) = _causes({"name": "1abc", "namespace": "d"}, SERVICES)
    assert "a DNS-1035 label must consist of" in cause.message
    assert _causes({"name": "x" * 64}, NAMESPACES)[0].message.endswith(
        "must be no more than 63 characters"
    )


def test_namespace_required_or_forbidden_by_scope() -> None:
    assert _causes({"name": "a"}) == [
        FieldCause("FieldValueRequired", "Required value", "metadata.namespace")
    ]
    assert _causes({"name": "a", "namespace": "d"}, NAMESPACES) == [
        FieldCause(
            "FieldValueForbidden", "Forbidden: not allowed on this type", "metadata.namespace"
        )
    ]


def test_bad_label_keys_and_values() -> None:
    causes = _causes({"name": "a", "namespace": "d", "labels": {"bad key": "v", "k": "bad value"}})
    assert [c.field for c in causes] == ["metadata.labels", "metadata.labels"]
    assert causes[0].message.startswith('Invalid value: "bad key": name part must consist of')
    assert causes[1].message.startswith(
        'Invalid value: "bad value": a valid label must be an empty string or consist of'
    )


def test_annotations_over_256_kib_are_too_long() -> None:
    big = {"kcanary.io/blob": "x" * 262144}
    assert _causes({"name": "a", "namespace": "d", "annotations": big}) == [
        FieldCause(
            "FieldValueTooLong", "Too long: must have at most 262144 bytes", "metadata.annotations"
        )
    ]


def test_owner_reference_fields_are_required() -> None:
    causes = _causes({"name": "a", "namespace": "d", "ownerReferences": [{"kind": "X"}]})
    assert [(c.field, c.message) for c in causes] == [
        ("metadata.ownerReferences.apiVersion", 'Invalid value: "": version must not be empty'),
        ("metadata.ownerReferences.name", 'Invalid value: "": name must not be empty'),
        ("metadata.ownerReferences.uid", 'Invalid value: "": uid must not be empty'),
    ]


def test_finalizers_must_be_qualified_names() -> None:
    (cause,) = _causes({"name": "a", "namespace": "d", "finalizers": ["not valid/x/y"]})
    assert cause.field == "metadata.finalizers[0]"
    assert "a qualified name must consist of" in cause.message


def test_generated_names_keep_the_prefix_and_fit() -> None:
    name = generate_name("iris-")
    assert name.startswith("iris-") and len(name) == 10
    assert len(generate_name("x" * 100)) == 63


def test_metadata_of_the_wrong_types_is_reported_not_a_crash() -> None:
    causes = _causes({"name": "a", "namespace": 7, "generateName": 3})
    assert [c.field for c in causes] == ["metadata.generateName", "metadata.namespace"]
    assert validate_object_meta({"metadata": "x"}, CONFIGMAPS, creating=True)[0].field == (
        "metadata"
    )
