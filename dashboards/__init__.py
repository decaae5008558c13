"""Grafana dashboards for kcanary, written as Python with Grafana's foundation SDK.

The JSON under `dashboards/json/` is generated from these modules by `python -m
dashboards.generate` and committed, so Grafana users need no Python; the generator is the source
of truth and a test keeps the two in step. Every query reads either the controller's own
`kcanary_*` metrics (DESIGN.md section 8) or the metrics of one of the sources kcanary analyses
(Istio, Knative's queue-proxy, the KServe model server).
"""
