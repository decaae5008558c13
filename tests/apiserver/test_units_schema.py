"""Structural schemas: validation messages, pruning of unknown fields, and defaulting."""

from __future__ import annotations

from typing import Any

from sim.apiserver.schema import FieldCause, apply_defaults, prune, validate

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                "mode": {"type": "string", "enum": ["Fast", "Slow"]},
                "port": {"x-kubernetes-int-or-string": True},
                "when": {"type": "string", "format": "date-time"},
                "count32": {"type": "integer", "format": "int32"},
                "note": {"type": "string", "nullable": True},
                "tags": {
                    "type": "array",
                    "maxItems": 2,
                    "minItems": 1,
                    "items": {"type": "string"},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "routes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "host": {"type": "string"},
                            "weight": {"type": "integer", "default": 1},
                        },
                    },
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {
                        "spec": {"type": "object", "properties": {"a": {"type": "string"}}}
                    },
                },
            },
        },
    },
}


def _spec(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {"name": "n"},
        "spec": {"name": "ok", **fields},
    }


def test_valid_object_has_no_causes() -> None:
    obj = _spec(replicas=3, ratio=0.5, mode="Fast", port="http", tags=["a"], labels={"a": "b"})
    assert validate(obj, SCHEMA) == []


def test_wrong_type_is_worded_as_the_real_server_words_it() -> None:
    assert validate(_spec(replicas="three"), SCHEMA) == [
        FieldCause(
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
            "spec.replicas",
        )
    ]


def test_missing_required_field_is_field_value_required() -> None:
    obj = _spec()
    del obj["spec"]["name"]
    cause = validate(obj, SCHEMA)[0]
    assert cause.to_status_cause() == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.name",
    }


def test_enum_violation_lists_the_supported_values() -> None:
    assert validate(_spec(mode="Medium"), SCHEMA) == [
        FieldCause(
            "FieldValueNotSupported",
            'Unsupported value: "Medium": supported values: "Fast", "Slow"',
            "spec.mode",
        )
    ]


def test_numeric_bounds() -> None:
    messages = [c.message for c in validate(_spec(replicas=0, ratio=0), SCHEMA)]
    assert messages == [
        "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
        "Invalid value: 0: spec.ratio in body should be greater than 0",
    ]
    assert [c.message for c in validate(_spec(replicas=11), SCHEMA)] == [
        "Invalid value: 11: spec.replicas in body should be less than or equal to 10"
    ]


def test_string_length_and_pattern() -> None:
    causes = validate(_spec(name="TOOLONG"), SCHEMA)
    assert [(c.reason, c.message) for c in causes] == [
        ("FieldValueTooLong", "Too long: may not be more than 5 bytes"),
        (
            "FieldValueInvalid",
            "Invalid value: \"TOOLONG\": spec.name in body should match '^[a-z]+$'",
        ),
    ]
    assert validate(_spec(name=""), SCHEMA)[0].message == (
        'Invalid value: "": spec.name in body should be at least 1 chars long'
    )


def test_array_item_counts_and_item_paths() -> None:
    causes = validate(_spec(tags=["a", "b", 3]), SCHEMA)
    assert [(c.reason, c.field) for c in causes] == [
        ("FieldValueTooMany", "spec.tags"),
        ("FieldValueTypeInvalid", "spec.tags[2]"),
    ]
    assert causes[0].message == "Too many: 3: must have at most 2 items"
    assert validate(_spec(tags=[]), SCHEMA)[0].message == (
        "Invalid value: 0: spec.tags in body should have at least 1 items"
    )


def test_int_or_string_and_nullable() -> None:
    assert validate(_spec(port=8080, note=None), SCHEMA) == []
    assert validate(_spec(port=True), SCHEMA)[0].message == (
        'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"'
    )
    assert validate(_spec(mode=None), SCHEMA)[0].reason == "FieldValueTypeInvalid"


def test_formats_date_time_and_int32() -> None:
    assert validate(_spec(when="2026-01-02T03:04:05Z"), SCHEMA) == []
    assert validate(_spec(when="yesterday"), SCHEMA)[0].message == (
        'Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"'
    )
    assert validate(_spec(count32=2**31), SCHEMA)[0].field == "spec.count32"


def test_map_values_and_embedded_resources_are_checked() -> None:
    causes = validate(_spec(labels={"a": 1}, template={"spec": {}}), SCHEMA)
    assert [(c.reason, c.field) for c in causes] == [
        ("FieldValueTypeInvalid", "spec.labels.a"),
        ("FieldValueRequired", "spec.template.apiVersion"),
        ("FieldValueRequired", "spec.template.kind"),
    ]


def test_prune_drops_undeclared_fields_and_reports_their_paths() -> None:
    obj = _spec(
        spek=1,
        routes=[{"host": "h", "wieght": 5}],
        free={"anything": {"goes": True}},
        template={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "bogus": 1},
            "spec": {"a": "x", "b": "y"},
        },
    )
    obj["status"] = {"phase": "x"}
    obj["metadata"]["extra"] = "dropped"
    pruned, removed = prune(obj, SCHEMA)
    assert removed == [
        "metadata.extra",
        "spec.spek",
        "spec.routes[0].wieght",
        "spec.template.metadata.bogus",
        "spec.template.spec.b",
        "status",
    ]
    assert pruned["spec"]["free"] == {"anything": {"goes": True}}
    assert pruned["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"a": "x"},
    }
    assert pruned["apiVersion"] == "x/v1" and pruned["kind"] == "X"
    assert "spek" in obj["spec"]  # the input is left alone


def test_prune_without_a_schema_keeps_everything() -> None:
    obj = _spec(anything=1)
    assert prune(obj, None) == (obj, [])


def test_defaults_fill_missing_fields_including_list_items() -> None:
    obj = _spec(routes=[{"host": "a"}, {"host": "b", "weight": 3}])
    result = apply_defaults(obj, SCHEMA)
    assert result["spec"]["replicas"] == 1
    assert result["spec"]["routes"] == [{"host": "a", "weight": 1}, {"host": "b", "weight": 3}]
    assert "replicas" not in obj["spec"]


def test_defaults_replace_nulls_of_non_nullable_fields_and_keep_nullable_ones() -> None:
    result = apply_defaults(_spec(replicas=None, mode=None, note=None), SCHEMA)
    assert result["spec"]["replicas"] == 1
    assert "mode" not in result["spec"]
    assert result["spec"]["note"] is None


def test_list_type_map_keys_and_set_items_must_be_unique() -> None:
    schema = {
        "type": "object",
        "properties": {
            "conditions": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {"type": "object", "properties": {"type": {"type": "string"}}},
            },
            "finalizers": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {"type": "string"},
            },
        },
    }
    obj = {"conditions": [{"type": "Ready"}, {"type": "Ready"}], "finalizers": ["a", "b", "a"]}
    assert validate(obj, schema) == [
        FieldCause(
            "FieldValueDuplicate",
            'Duplicate value: map[string]interface {}{"type":"Ready"}',
            "conditions[1]",
        ),
        FieldCause("FieldValueDuplicate", 'Duplicate value: "a"', "finalizers[2]"),
    ]


def test_byte_format_must_be_base64() -> None:
    schema = {"type": "object", "properties": {"blob": {"type": "string", "format": "byte"}}}
    assert validate({"blob": "aGVsbG8="}, schema) == []
    assert validate({"blob": "not base64!"}, schema)[0].message == (
        'Invalid value: "not base64!": blob in body must be of type byte: "not base64!"'
    )


def test_any_of_one_of_and_not_add_value_validations() -> None:
    schema = {
        "type": "object",
        "properties": {
            "port": {
                "x-kubernetes-int-or-string": True,
                "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[a-z]+$"}],
            },
            "size": {"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]},
            "name": {"type": "string", "not": {"enum": ["forbidden"]}},
        },
    }
    assert validate({"port": 80, "size": 20, "name": "ok"}, schema) == []
    causes = validate({"port": "HTTP", "size": 5, "name": "forbidden"}, schema)
    assert [c.message for c in causes] == [
        'Invalid value: "HTTP": port in body must validate at least one schema (anyOf)',
        "Invalid value: 5: size in body must validate one and only one schema (oneOf)",
        'Invalid value: "forbidden": name in body must not validate the schema (not)',
    ]
