"""The deleting verbs: delete of one object and deletecollection, with DeleteOptions'
preconditions, propagation policy and dry run.

What a deletion does to the object (finalizers, graceful marking, the garbage collector's
part) is the lifecycle's business; these handlers find the objects and shape the reply.
"""

from __future__ import annotations

from sim.apiserver import errors
from sim.apiserver.calls import APICall, Reply, Target
from sim.apiserver.delete_options import check_delete_preconditions, delete_options
from sim.apiserver.lifecycle import Lifecycle
from sim.apiserver.listing import selection_predicate
from sim.apiserver.reads import existing
from sim.apiserver.representation import collection, object_json
from sim.apiserver.request_info import Representation
from sim.apiserver.store import ObjectStore, StoredObject


class DeleteHandlers:
    """Serves delete and deletecollection against one store and its lifecycle."""

    def __init__(self, store: ObjectStore, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    def delete(self, call: APICall, target: Target) -> Reply:
        if call.request.subresource:
            raise errors.method_not_allowed()
        options = delete_options(call.query, call.content_type, call.body)
        stored = existing(self.store, target, call.request.name)
        check_delete_preconditions(options, stored, target.rtype)
        result = self.lifecycle.delete(
            target.resource,
            target.rtype,
            stored,
            propagation=options.propagation,
            dry_run=options.dry_run,
        )
        return Reply(200, object_json(result.stored, target.rtype))

    def delete_collection(self, call: APICall, target: Target) -> Reply:
        options = delete_options(call.query, call.content_type, call.body)
        matches = selection_predicate(call.query, target.rtype)
        deleted: list[StoredObject] = []
        for stored in self.store.objects(target.resource, call.request.namespace):
            if matches is not None and not matches(stored.obj):
                continue
            result = self.lifecycle.delete(
                target.resource,
                target.rtype,
                stored,
                propagation=options.propagation,
                dry_run=options.dry_run,
            )
            deleted.append(result.stored)
        body = collection(
            deleted,
            target.rtype,
            Representation(),
            resource_version=str(self.store.resource_version),
            continue_token=None,
            remaining=None,
            include="Object",
        )
        return Reply(200, body)
