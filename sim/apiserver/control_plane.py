"""The parts of the local control plane, wired together, without any HTTP.

One store, one registry of served kinds, the REST handlers and the built-in controllers that
play kube-controller-manager's and apiextensions-apiserver's parts (garbage collector,
namespace cleanup, CRD establishment). Bootstrapping creates the namespaces a fresh cluster has
and installs CRDs from files, through the same handlers a client's request goes through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.calls import APICall
from sim.apiserver.crd_controller import CRDS, CRDController, admit_crd
from sim.apiserver.errors import StatusError
from sim.apiserver.gc import GarbageCollector
from sim.apiserver.handlers import ResourceHandlers
from sim.apiserver.lifecycle import Lifecycle
from sim.apiserver.namespaces import (
    NAMESPACES,
    NamespaceController,
    admit_namespace,
    namespace_object,
)
from sim.apiserver.rbac import Authorizer
from sim.apiserver.rbac_defaults import DEFAULT_CLUSTER_ROLE_BINDINGS, DEFAULT_CLUSTER_ROLES
from sim.apiserver.rbac_kinds import ACCESS_TYPES, RBAC_GROUP, access_admission_hooks
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.request_info import ResourceRequest
from sim.apiserver.store import ObjectStore
from sim.apiserver.watch import WatchHub

# What a fresh cluster has, plus `kserve`, where KServe's own configuration lives.
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kserve")


class CRDFileError(Exception):
    """A CRD manifest in a CRD directory that the server cannot install."""


class ControlPlane:
    """Store, registry, handlers and controllers of one local API server."""

    def __init__(
        self,
        *,
        history_per_resource: int = 20_000,
        gc_delay: float | Callable[[], float] = 0.05,
    ) -> None:
        self.store = ObjectStore(history_per_resource=history_per_resource)
        self.registry = TypeRegistry((*BUILTIN_TYPES, *ACCESS_TYPES))
        self.lifecycle = Lifecycle(self.store, self.registry)
        self.hub = WatchHub()
        self.store.subscribe(self.hub.publish)
        self.authorizer = Authorizer(self.store)
        self.handlers = ResourceHandlers(
            self.store,
            self.registry,
            self.lifecycle,
            {NAMESPACES: admit_namespace, CRDS: admit_crd, **access_admission_hooks()},
            self.authorizer,
        )
        self.gc = GarbageCollector(self.store, self.lifecycle, delay=gc_delay)
        self.namespaces = NamespaceController(self.store, self.lifecycle)
        self.crds = CRDController(
            self.store, self.registry, self.lifecycle, on_removed=self.hub.close_resource
        )

    def bootstrap(self, crd_dirs: Sequence[Path]) -> None:
        """Create the initial namespaces and install every CRD found in `crd_dirs`."""
        for name in INITIAL_NAMESPACES:
            self.create("", "v1", "namespaces", None, namespace_object(name))
        for role in DEFAULT_CLUSTER_ROLES:
            self.create(RBAC_GROUP, "v1", "clusterroles", None, role)
        for binding in DEFAULT_CLUSTER_ROLE_BINDINGS:
            self.create(RBAC_GROUP, "v1", "clusterrolebindings", None, binding)
        for manifest in crd_manifests(crd_dirs):
            try:
                self.create(
                    "apiextensions.k8s.io", "v1", "customresourcedefinitions", None, manifest
                )
            except StatusError as error:
                name = (manifest.get("metadata") or {}).get("name", "?")
                raise CRDFileError(f"cannot install CRD {name}: {error.message}") from None
        self.crds.reconcile()  # established before the server says it is ready

    def service_account_exists(self, namespace: str, name: str) -> bool:
        return self.store.get("/serviceaccounts", namespace, name) is not None

    def create(
        self, group: str, version: str, resource: str, namespace: str | None, obj: dict[str, Any]
    ) -> dict[str, Any]:
        """Create through the REST handlers, as a client would (admission included)."""
        request = ResourceRequest(
            verb="create",
            group=group,
            version=version,
            resource=resource,
            namespace=namespace,
            name="",
            subresource="",
        )
        reply = self.handlers.handle(
            APICall(request, {}, content_type="application/json", body=json.dumps(obj).encode())
        )
        created: dict[str, Any] = json.loads(reply.body)
        return created

    def stop(self) -> None:
        self.hub.close_all()
        self.gc.stop()
        self.namespaces.stop()
        self.crds.stop()


def crd_manifests(directories: Iterable[Path]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the YAML files of `directories`."""
    manifests: list[dict[str, Any]] = []
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            raise CRDFileError(f"CRD directory {directory} does not exist")
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            try:
                documents = list(yaml.safe_load_all(path.read_text()))
            except yaml.YAMLError as error:
                raise CRDFileError(f"{path} is not valid YAML: {error}") from None
            for document in documents:
                if not document:
                    continue
                if document.get("kind") != "CustomResourceDefinition":
                    raise CRDFileError(
                        f"{path} holds a {document.get('kind')!r}; CRD directories may hold "
                        "only CustomResourceDefinitions"
                    )
                manifests.append(document)
    return manifests
