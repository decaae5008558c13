"""The REST verbs on resources: get, list, create, update, patch, delete, deletecollection,
and the status and scale subresources, with the real server's semantics and errors.

This module only routes: it resolves the request, refuses verbs the kind or the path does not
allow, and hands the call to the reading (`reads`), writing (`writes`) or deleting (`deletes`)
handlers. The request and reply types are in `calls`; watches stream and live in
`watch_stream`.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.apiserver import errors
from sim.apiserver.calls import APICall, Reply, resolve
from sim.apiserver.deletes import DeleteHandlers
from sim.apiserver.lifecycle import Lifecycle
from sim.apiserver.rbac import Authorizer
from sim.apiserver.reads import ReadHandlers
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.store import ObjectStore
from sim.apiserver.write_admission import AdmissionHook, WriteAdmission
from sim.apiserver.writes import WriteHandlers


class ResourceHandlers:
    """Serves the non-streaming verbs against one store and registry."""

    def __init__(
        self,
        store: ObjectStore,
        registry: TypeRegistry,
        lifecycle: Lifecycle,
        hooks: Mapping[str, AdmissionHook],
        authorizer: Authorizer | None = None,
    ) -> None:
        self.registry = registry
        self.reads = ReadHandlers(store)
        admission = WriteAdmission(store, registry, hooks, authorizer)
        self.writes = WriteHandlers(store, lifecycle, admission)
        self.deletes = DeleteHandlers(store, lifecycle)

    def handle(self, call: APICall) -> Reply:
        target = resolve(self.registry, call.request)
        verb = call.request.verb
        if verb not in target.rtype.verbs:
            raise errors.method_not_allowed()
        named = bool(call.request.name)
        if (verb == "create" and named) or (verb in ("update", "patch") and not named):
            raise errors.method_not_allowed()
        if verb == "get":
            return self.reads.get(call, target)
        if verb == "list":
            return self.reads.list(call, target)
        if verb == "create":
            return self.writes.create(call, target)
        if verb in ("update", "patch"):
            return self.writes.write(call, target)
        if verb == "delete":
            return self.deletes.delete(call, target)
        if verb == "deletecollection":
            return self.deletes.delete_collection(call, target)
        raise errors.method_not_allowed()
