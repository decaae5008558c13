"""What the local API server knows about one kind of resource.

Built-in kinds are declared in code; custom resources get one `ResourceType` per served version
of a CustomResourceDefinition, built from the CRD object itself, so discovery, validation,
OpenAPI, printer columns and subresources all come from what the CRD says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PrinterColumn:
    """One `additionalPrinterColumns` entry (or a built-in kind's equivalent)."""

    name: str
    type: str  # string | integer | number | boolean | date
    json_path: str  # e.g. ".status.phase"
    description: str = ""
    priority: int = 0  # 0 shows in plain `get`, >0 only in `-o wide`
    format: str = ""
    # Built-in kinds only: kubectl columns such as a Deployment's READY ("2/3") combine fields,
    # which a JSONPath cannot; when set, the cell is `cell(obj)` and `json_path` only documents.
    cell: Callable[[dict[str, Any]], Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ResourceType:
    """One group/version/kind as served: enough for routing, discovery, OpenAPI and tables."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    # OpenAPI v3 structural schema of the whole object (None: anything goes, nothing pruned).
    schema: dict[str, Any] | None = None
    preserve_unknown_fields: bool = False
    has_status: bool = False
    # scale subresource paths, as in a CRD's `subresources.scale`
    scale: dict[str, str] | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    builtin: bool = True  # built-in kinds take strategic merge patch; custom resources get 415
    storage: bool = True  # the CRD version marked storage
    field_selectors: tuple[str, ...] = ("metadata.name", "metadata.namespace")
    extra: dict[str, Any] = field(default_factory=dict)
    # Which name rule metadata.name follows: "subdomain" (most kinds), "label" (namespaces),
    # "dns1035" (services), as the real validators for each kind use.
    name_format: str = "subdomain"

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version
