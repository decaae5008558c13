"""`meta.k8s.io/v1` Table responses, which is what `kubectl get` shows.

kubectl asks for `as=Table` on lists and watches and prints the server's columns; without them
it falls back to NAME and AGE. Columns come from the kind's printer columns (a CRD's
`additionalPrinterColumns`), evaluated with JSONPath and converted by column type as
apiextensions-apiserver converts them: `date` cells become an age such as `5m` (the server, not
kubectl, turns a timestamp into an age), `string` cells print non-strings as compact JSON,
`integer`/`number`/`boolean` cells keep their JSON type, and a missing value is a null cell
(kubectl shows `<none>`).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from sim.apiserver import jsonpath
from sim.apiserver.resources import PrinterColumn, ResourceType

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)

AGE_COLUMN = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
)


def columns_of(rtype: ResourceType) -> tuple[PrinterColumn, ...]:
    """The printer columns after NAME: the declared ones, or just Age when none are declared
    (as a CRD without `additionalPrinterColumns` is shown)."""
    return rtype.printer_columns or (AGE_COLUMN,)


def _has_name_column(rtype: ResourceType) -> bool:
    """Some kinds (Events) place NAME themselves, among the wide columns."""
    return any(column.name.lower() == "name" for column in rtype.printer_columns)


def column_definitions(rtype: ResourceType) -> list[dict[str, Any]]:
    definitions = []
    if not _has_name_column(rtype):
        definitions.append(
            {
                "name": "Name",
                "type": "string",
                "format": "name",
                "description": NAME_DESCRIPTION,
                "priority": 0,
            }
        )
    for column in columns_of(rtype):
        description = column.description or (
            f"Custom resource definition column (in JSONPath format): {column.json_path}"
        )
        definitions.append(
            {
                "name": column.name,
                "type": column.type,
                "format": column.format,
                "description": description,
                "priority": column.priority,
            }
        )
    return definitions


def human_duration(seconds: float) -> str:
    """An age as kubectl shows it: `45s`, `3m20s`, `5h`, `2d4h`, `3y`."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def _age(value: Any, now: datetime.datetime) -> str | None:
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return "<invalid>"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return human_duration((now - moment).total_seconds())


def cell(obj: dict[str, Any], column: PrinterColumn, now: datetime.datetime) -> Any:
    """One table cell, converted by column type; None when the path finds nothing."""
    if column.cell is not None:
        try:
            value = column.cell(obj)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None  # a loosely-typed part (a Service's status) held something odd
        return _age(value, now) if column.type == "date" and value is not None else value
    try:
        found = jsonpath.find(obj, column.json_path)
    except jsonpath.JSONPathError:
        return None
    if not found:
        return None
    value = found[0]
    if value is None:
        return None
    if column.type == "string":
        if isinstance(value, str):
            return value
        return (
            json.dumps(value, separators=(",", ":"))
            if isinstance(value, dict | list)
            else (json.dumps(value))
        )
    if column.type == "integer":
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return int(value) if is_number else None
    if column.type == "number":
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return value if is_number else None
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    if column.type == "date":
        return _age(value, now)
    return None


def partial_object_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata if isinstance(metadata, dict) else {},
    }


def table_row(
    obj: dict[str, Any],
    rtype: ResourceType,
    include_object: str = "Metadata",
    *,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """One `rows[]` entry; watch events of Table type carry a one-row table built from it."""
    moment = now or datetime.datetime.now(datetime.UTC)
    cells: list[Any] = []
    if not _has_name_column(rtype):
        metadata = obj.get("metadata")
        cells.append(metadata.get("name", "") if isinstance(metadata, dict) else "")
    cells.extend(cell(obj, column, moment) for column in columns_of(rtype))
    row: dict[str, Any] = {"cells": cells}
    if include_object == "Metadata":
        row["object"] = partial_object_metadata(obj)
    elif include_object == "Object":
        row["object"] = obj
    return row


def to_table(
    objects: list[dict[str, Any]],
    rtype: ResourceType,
    *,
    include_object: str = "Metadata",
    resource_version: str,
    continue_token: str | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A Table of `objects` (`includeObject` is None, Metadata or Object, as in the query)."""
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(rtype),
        "rows": [table_row(obj, rtype, include_object, now=now) for obj in objects],
    }
