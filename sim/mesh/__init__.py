"""What the service mesh knows about pods and requests, shared by the gateway and the pods.

Pod identities (the labels Istio and Knative derive from a pod) and the telemetry the mesh's
proxies export: Istio's request metrics at both ends of a request, kept in Envoy's exposition
shape.
"""
