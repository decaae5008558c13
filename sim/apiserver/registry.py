"""Which kinds the server serves right now: the built-in ones plus one per CRD version.

The registry grows and shrinks as CustomResourceDefinitions are created, updated and deleted,
so discovery, OpenAPI and routing always agree with the CRD objects in the store. Every served
version of one kind shares a single storage key, as in a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sim.apiserver.resources import ResourceType

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def storage_key(rtype: ResourceType) -> str:
    """One key per group and resource, shared by all versions."""
    return f"{rtype.group}/{rtype.plural}"


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in Kubernetes order: v2, v1, v1beta2, v1beta1, v1alpha1, foo."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor, version)


@dataclass(frozen=True)
class GroupVersions:
    """A served group and its versions, the preferred one first."""

    group: str
    versions: tuple[str, ...]

    @property
    def preferred(self) -> str:
        return self.versions[0]


class TypeRegistry:
    """The served resource types, indexed for routing by (group, version, plural)."""

    def __init__(self, builtin: Iterable[ResourceType]) -> None:
        self._builtin = tuple(builtin)
        self._by_crd: dict[str, tuple[ResourceType, ...]] = {}
        self._index: dict[tuple[str, str, str], ResourceType] = {}
        self._by_storage: dict[str, ResourceType] = {}
        self.revision = 0
        self._rebuild()

    def _rebuild(self) -> None:
        index: dict[tuple[str, str, str], ResourceType] = {}
        by_storage: dict[str, ResourceType] = {}
        for rtype in self.served():
            index.setdefault((rtype.group, rtype.version, rtype.plural), rtype)
            key = storage_key(rtype)
            if key not in by_storage or rtype.storage:
                by_storage[key] = rtype
        self._index = index
        self._by_storage = by_storage
        self.revision += 1

    def served(self) -> list[ResourceType]:
        types = list(self._builtin)
        for name in sorted(self._by_crd):
            types.extend(self._by_crd[name])
        return types

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._index.get((group, version, plural))

    def for_storage(self, key: str) -> ResourceType | None:
        """The served type (the storage version, if served) of a storage key."""
        return self._by_storage.get(key)

    def group_served(self, group: str, version: str) -> bool:
        return any(g == group and v == version for g, v, _ in self._index)

    def versions_of(self, rtype: ResourceType) -> list[ResourceType]:
        """Every served version sharing `rtype`'s storage."""
        key = storage_key(rtype)
        return [other for other in self._index.values() if storage_key(other) == key]

    def groups(self) -> list[GroupVersions]:
        """Groups in the order /apis lists them: built-ins first, then CRD groups by name."""
        order: list[str] = []
        versions: dict[str, set[str]] = {}
        for rtype in self.served():
            if rtype.group not in versions:
                order.append(rtype.group)
                versions[rtype.group] = set()
            versions[rtype.group].add(rtype.version)
        builtin_groups = {rtype.group for rtype in self._builtin}
        order = [g for g in order if g in builtin_groups] + sorted(
            g for g in order if g not in builtin_groups
        )
        return [
            GroupVersions(group, tuple(sorted(versions[group], key=version_priority)))
            for group in order
        ]

    def types_in(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.served() if t.group == group and t.version == version]

    def conflicting_crd(self, crd_name: str, types: Iterable[ResourceType]) -> str | None:
        """Why `types` cannot be served (a name already taken by another kind), or None."""
        for rtype in types:
            for other in self.served():
                if other.group != rtype.group or self._owner(other) == crd_name:
                    continue
                taken = {other.plural, other.singular, *other.short_names}
                if rtype.plural in taken or rtype.kind == other.kind:
                    return f'"{rtype.plural}" is already in use'
        return None

    def _owner(self, rtype: ResourceType) -> str | None:
        for name, types in self._by_crd.items():
            if rtype in types:
                return name
        return None

    def set_crd(self, crd_name: str, types: Iterable[ResourceType]) -> None:
        """Serve `types` for the CRD `crd_name`, replacing what it served before."""
        self._by_crd[crd_name] = tuple(types)
        self._rebuild()

    def remove_crd(self, crd_name: str) -> tuple[ResourceType, ...]:
        removed = self._by_crd.pop(crd_name, ())
        self._rebuild()
        return removed

    def crd_types(self, crd_name: str) -> tuple[ResourceType, ...]:
        return self._by_crd.get(crd_name, ())
