"""The KServe stand-in: InferenceServices turned into Deployments, Services, routes and status.

`KServeController` watches ISVCs through the API and does what KServe (and, in Serverless mode,
Knative) does with them; the local cluster's Deployment controller runs the pods it asks for.
"""

from sim.kserve.context import KServeHostility
from sim.kserve.controller import KServeController
from sim.kserve.ingress_config import IngressConfig

__all__ = ["IngressConfig", "KServeController", "KServeHostility"]
