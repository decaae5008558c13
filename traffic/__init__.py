"""Moving live traffic between an InferenceService's stable and canary revisions.

One router per mode behind one interface (:mod:`traffic.router`): ``istio`` (a VirtualService),
``gateway-api`` (an HTTPRoute) and ``kserve`` (KServe's own canary fields). Routers read and
write plain objects through the store protocol of :mod:`traffic.store`, which the controller
implements over the Kubernetes client; :mod:`traffic.memory_store` is the in-memory double.
"""
