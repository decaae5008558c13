"""Label and field selectors: matching, and the real parse errors."""

from __future__ import annotations

import pytest

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.resources import ResourceType
from sim.apiserver.selectors import (
    SelectorError,
    label_selector_from_object,
    parse_field_selector,
    parse_label_selector,
)

CORE_EVENTS = next(t for t in BUILTIN_TYPES if t.plural == "events" and t.group == "")
V1_EVENTS = next(t for t in BUILTIN_TYPES if t.plural == "events" and t.group == "events.k8s.io")
ISVC = ResourceType(
    group="serving.kserve.io",
    version="v1beta1",
    kind="InferenceService",
    plural="inferenceservices",
    singular="inferenceservice",
    namespaced=True,
    builtin=False,
)

LABELS = {"app": "iris", "tier": "model", "version": "7"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("app=iris", True),
        ("app==iris", True),
        ("app!=iris", False),
        ("app!=other", True),
        ("missing!=x", True),
        ("app in (iris, rose)", True),
        ("app notin (iris)", False),
        ("app notin (rose)", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app=iris,tier=model", True),
        ("app=iris,tier=other", False),
        ("version>5", True),
        ("version<5", False),
        ("app=", False),
    ],
)
def test_label_selector_matching(text: str, expected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in b", "unable to parse requirement: found 'b', expected: '('"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("=b", "found '=', expected: !, identifier, or 'end of string'"),
    ],
)
def test_label_selector_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(text)
    assert str(caught.value) == message


def test_label_selector_invalid_key_and_value() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector("bad_key_=x")
    assert str(caught.value).startswith(
        'unable to parse requirement: <nil>: Invalid value: "bad_key_": name part must consist of'
    )
    with pytest.raises(SelectorError) as caught:
        parse_label_selector("a=-bad")
    assert 'Invalid value: "-bad": a valid label must be an empty string' in str(caught.value)


def test_label_selector_object_form() -> None:
    selector = label_selector_from_object(
        {
            "matchLabels": {"app": "iris"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["model"]}],
        }
    )
    assert selector.matches(LABELS)
    assert not selector.matches({"app": "iris"})


def test_field_selector_on_name_and_namespace() -> None:
    obj = {"metadata": {"name": "iris", "namespace": "models"}}
    assert parse_field_selector("metadata.name=iris", ISVC).matches(obj)
    assert parse_field_selector("metadata.name==iris,metadata.namespace=models", ISVC).matches(obj)
    assert not parse_field_selector("metadata.name!=iris", ISVC).matches(obj)
    assert parse_field_selector("metadata.name=iris", ISVC).exact_name() == "iris"


def test_field_selector_unknown_field_is_refused_as_the_server_refuses_it() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector("spec.predictor=x", ISVC)
    assert str(caught.value) == "field label not supported: spec.predictor"


def test_field_selector_without_operator_is_refused() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector("metadata.name", ISVC)
    assert str(caught.value) == (
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    )


def test_event_field_selectors() -> None:
    event = {
        "metadata": {"name": "e1", "namespace": "models"},
        "involvedObject": {"kind": "InferenceService", "name": "iris", "uid": "u1"},
        "reason": "Promoted",
        "type": "Normal",
        "source": {"component": "kcanary"},
    }
    selector = parse_field_selector(
        "involvedObject.kind=InferenceService,involvedObject.name=iris,reason=Promoted,"
        "type=Normal,source=kcanary",
        CORE_EVENTS,
    )
    assert selector.matches(event)
    assert not parse_field_selector("involvedObject.uid=u2", CORE_EVENTS).matches(event)
    v1_event = {"regarding": {"name": "iris"}, "reportingController": "kcanary"}
    selector = parse_field_selector("regarding.name=iris,reportingController=kcanary", V1_EVENTS)
    assert selector.matches(v1_event)
    with pytest.raises(SelectorError):
        parse_field_selector("involvedObject.name=iris", V1_EVENTS)


def test_field_selector_values_may_escape_commas() -> None:
    obj = {"metadata": {"name": "a,b"}}
    assert parse_field_selector(r"metadata.name=a\,b", ISVC).matches(obj)


def test_empty_value_set_is_refused() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector("app in ()")
    assert str(caught.value) == (
        "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' "
        "operators, values set can't be empty"
    )
