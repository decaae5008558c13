"""How the user-facing commands reach the cluster, with kubectl's flags and kubectl's manners.

`--kubeconfig`, `--context`, `-n/--namespace` and `-A/--all-namespaces` mean what they mean to
kubectl: the namespace defaults to the one of the kubeconfig context, then `default`. Objects
are handled as plain dicts (the JSON the API server sent), so what `-o yaml` prints is exactly
what is stored. A wrong name or an ISVC kcanary does not manage is a `CommandError` that says
what to do (kcanary.command_errors).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from kcanary.command_errors import BAD_INPUT, CommandError
from rollout.annotations import ACTION, STRATEGY

JsonObject = dict[str, Any]

ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
ROLLOUT_GROUP, ROLLOUT_VERSION, ROLLOUT_PLURAL = "kcanary.io", "v1alpha1", "inferencerollouts"

_CONNECT_TIMEOUT = 5.0


class WatchExpired(Exception):
    """The resourceVersion a watch started from is gone (410): list again, then watch."""


def add_cluster_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    """The flags every kubectl command takes, spelled as kubectl spells them."""
    group = parser.add_argument_group("cluster")
    group.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)",
    )
    group.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    group.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace of the InferenceService (default: the context's namespace)",
    )
    if all_namespaces:
        group.add_argument(
            "-A",
            "--all-namespaces",
            action="store_true",
            help="list rollouts in every namespace",
        )


@dataclass(frozen=True)
class Cluster:
    """An API client bound to the namespace the command works in."""

    api: k8s_client.ApiClient
    namespace: str

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    # -- InferenceServices -----------------------------------------------------------------------

    def isvc(self, name: str) -> JsonObject:
        try:
            found = cast(
                JsonObject,
                self._custom.get_namespaced_custom_object(
                    ISVC_GROUP, ISVC_VERSION, self.namespace, ISVC_PLURAL, name
                ),
            )
        except ApiException as error:
            if error.status == 404:
                raise CommandError(
                    f'InferenceService "{name}" not found in namespace "{self.namespace}": '
                    "check the name, or pass -n NAMESPACE "
                    f"(kubectl get inferenceservices -n {self.namespace})"
                ) from None
            raise
        return found

    def managed_isvc(self, name: str) -> JsonObject:
        """The ISVC, refusing one that kcanary does not roll out (no strategy annotation)."""
        isvc = self.isvc(name)
        if STRATEGY not in annotations_of(isvc):
            raise CommandError(
                f'InferenceService "{name}" in namespace "{self.namespace}" is not managed by '
                f"kcanary: annotate it first (kubectl annotate isvc {name} -n {self.namespace} "
                f"{STRATEGY}=canary)"
            )
        return isvc

    def set_action(self, name: str, action: str) -> JsonObject:
        """Ask the controller for a manual action (a merge patch of the ISVC's annotation)."""
        patch = {"metadata": {"annotations": {ACTION: action}}}
        patched = self._custom.patch_namespaced_custom_object(
            ISVC_GROUP, ISVC_VERSION, self.namespace, ISVC_PLURAL, name, patch
        )
        return cast(JsonObject, patched)

    def set_model(self, name: str, model: JsonObject) -> JsonObject:
        """Change fields of the ISVC's `spec.predictor.model` (a merge patch, as a CI would)."""
        patch = {"spec": {"predictor": {"model": model}}}
        patched = self._custom.patch_namespaced_custom_object(
            ISVC_GROUP, ISVC_VERSION, self.namespace, ISVC_PLURAL, name, patch
        )
        return cast(JsonObject, patched)

    def selected_isvcs(
        self, selector: str, *, all_namespaces: bool = False
    ) -> set[tuple[str, str]]:
        """(namespace, name) of the InferenceServices whose labels match `selector`, which the API
        server reads (`labelSelector`, as kubectl passes `-l`); a selector it cannot read is a
        usage error that carries the server's own words."""
        try:
            listed: Any
            if all_namespaces:
                listed = self._custom.list_cluster_custom_object(
                    ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL, label_selector=selector
                )
            else:
                listed = self._custom.list_namespaced_custom_object(
                    ISVC_GROUP, ISVC_VERSION, self.namespace, ISVC_PLURAL, label_selector=selector
                )
        except ApiException as error:
            if error.status == 400:
                raise CommandError(
                    f"invalid selector {selector!r}: {_server_message(error)}: write it as "
                    "kubectl does, e.g. -l team=fraud,tier!=dev or -l 'env in (prod,staging)'",
                    BAD_INPUT,
                ) from None
            raise
        return {
            (str(item["metadata"].get("namespace", "")), str(item["metadata"]["name"]))
            for item in listed.get("items") or []
        }

    def watch_isvc(
        self, name: str, resource_version: str, timeout: float
    ) -> Iterator[tuple[str, JsonObject]]:
        return self._watch_custom(
            ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL, self.namespace, name, resource_version, timeout
        )

    # -- InferenceRollouts -----------------------------------------------------------------------

    def rollout(self, name: str) -> JsonObject | None:
        """The InferenceRollout of the ISVC `name`; None until the controller has created it."""
        try:
            found = cast(
                JsonObject,
                self._custom.get_namespaced_custom_object(
                    ROLLOUT_GROUP, ROLLOUT_VERSION, self.namespace, ROLLOUT_PLURAL, name
                ),
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return found

    def rollouts(self, *, all_namespaces: bool = False) -> tuple[list[JsonObject], str]:
        """Every InferenceRollout in the namespace (or cluster), and the list's resourceVersion."""
        listed: Any
        if all_namespaces:
            listed = self._custom.list_cluster_custom_object(
                ROLLOUT_GROUP, ROLLOUT_VERSION, ROLLOUT_PLURAL
            )
        else:
            listed = self._custom.list_namespaced_custom_object(
                ROLLOUT_GROUP, ROLLOUT_VERSION, self.namespace, ROLLOUT_PLURAL
            )
        items: list[JsonObject] = list(listed.get("items") or [])
        return items, str((listed.get("metadata") or {}).get("resourceVersion", ""))

    def watch_rollouts(
        self,
        *,
        name: str | None,
        resource_version: str,
        timeout: float,
        all_namespaces: bool = False,
    ) -> Iterator[tuple[str, JsonObject]]:
        namespace = None if all_namespaces else self.namespace
        return self._watch_custom(
            ROLLOUT_GROUP,
            ROLLOUT_VERSION,
            ROLLOUT_PLURAL,
            namespace,
            name,
            resource_version,
            timeout,
        )

    # -- Events ----------------------------------------------------------------------------------

    def events(self, name: str) -> tuple[list[JsonObject], str]:
        """core/v1 Events about the ISVC `name`, oldest first, and the list's resourceVersion."""
        listed: Any = self._core.list_namespaced_event(
            self.namespace, field_selector=_events_about(name), _preload_content=False
        )
        document = json.loads(listed.data)
        items: list[JsonObject] = list(document.get("items") or [])
        items.sort(key=event_order)
        return items, str((document.get("metadata") or {}).get("resourceVersion", ""))

    def watch_events(
        self, name: str, resource_version: str, timeout: float
    ) -> Iterator[tuple[str, JsonObject]]:
        return self._stream(
            self._core.list_namespaced_event,
            (self.namespace,),
            {"field_selector": _events_about(name)},
            resource_version,
            timeout,
        )

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def _custom(self) -> k8s_client.CustomObjectsApi:
        return k8s_client.CustomObjectsApi(self.api)

    @property
    def _core(self) -> k8s_client.CoreV1Api:
        return k8s_client.CoreV1Api(self.api)

    def _watch_custom(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str | None,
        name: str | None,
        resource_version: str,
        timeout: float,
    ) -> Iterator[tuple[str, JsonObject]]:
        kwargs: dict[str, Any] = {}
        if name is not None:
            kwargs["field_selector"] = f"metadata.name={name}"
        if namespace is None:
            return self._stream(
                self._custom.list_cluster_custom_object,
                (group, version, plural),
                kwargs,
                resource_version,
                timeout,
            )
        return self._stream(
            self._custom.list_namespaced_custom_object,
            (group, version, namespace, plural),
            kwargs,
            resource_version,
            timeout,
        )

    def _stream(
        self,
        func: Callable[..., Any],
        args: tuple[str, ...],
        kwargs: Mapping[str, Any],
        resource_version: str,
        timeout: float,
    ) -> Iterator[tuple[str, JsonObject]]:
        """(type, object) for each change after `resource_version`, for about `timeout` seconds
        (the server ends the watch); raises WatchExpired when that version is gone."""
        seconds = max(1, int(timeout + 0.999))
        watcher = k8s_watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in watcher.stream(  # type: ignore[no-untyped-call]
                func,
                *args,
                resource_version=resource_version,
                timeout_seconds=seconds,
                allow_watch_bookmarks=False,
                _request_timeout=(_CONNECT_TIMEOUT, seconds + 10),
                **kwargs,
            ):
                yield str(event["type"]), dict(event["raw_object"])
        except ApiException as error:
            if error.status == 410:
                raise WatchExpired(str(error.reason)) from None
            raise
        finally:
            watcher.stop()  # type: ignore[no-untyped-call]


def connect(args: argparse.Namespace) -> Cluster:
    """A client from `--kubeconfig`/`$KUBECONFIG`/~/.kube/config (or the pod's service account)
    and the namespace to work in."""
    kubeconfig: str | None = getattr(args, "kubeconfig", None)
    context: str | None = getattr(args, "context", None)
    if kubeconfig is not None and not Path(kubeconfig).is_file():
        raise CommandError(f"kubeconfig {kubeconfig} is not a file: check --kubeconfig")
    if kubeconfig is None and not context and _in_a_pod():
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
        api = k8s_client.ApiClient()
        return Cluster(api, getattr(args, "namespace", None) or _pod_namespace())
    try:
        api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
        namespace = getattr(args, "namespace", None) or _context_namespace(kubeconfig, context)
    except (ConfigException, yaml.YAMLError, ValueError, TypeError) as error:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        problem = " ".join(str(error).split())  # YAML errors span lines
        raise CommandError(
            f"cannot use kubeconfig {where}: {problem}; pass --kubeconfig PATH or --context NAME"
        ) from None
    return Cluster(api, namespace)


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def event_order(event: Mapping[str, Any]) -> tuple[str, int]:
    """Sorts Events by when they last happened, then by when they were written: Events of the
    same second keep the order the controller wrote them in."""
    meta = event.get("metadata") or {}
    when = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or meta.get("creationTimestamp")
        or ""
    )
    version = str(meta.get("resourceVersion") or "0")
    return str(when), int(version) if version.isdigit() else 0


def _server_message(error: ApiException) -> str:
    """The message of the Status the API server answered with, else the HTTP reason."""
    try:
        return str(json.loads(error.body or "").get("message") or error.reason)
    except (TypeError, ValueError, AttributeError):
        return str(error.reason)


def _events_about(name: str) -> str:
    return f"involvedObject.name={name},involvedObject.kind=InferenceService"


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = active
    if context:
        chosen = next((item for item in contexts if item.get("name") == context), None)
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else "default"


_SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def _in_a_pod() -> bool:
    return (
        "KUBERNETES_SERVICE_HOST" in os.environ
        and "KUBECONFIG" not in os.environ
        and (_SERVICE_ACCOUNT / "token").is_file()
        and not Path("~/.kube/config").expanduser().is_file()
    )


def _pod_namespace() -> str:
    try:
        return (_SERVICE_ACCOUNT / "namespace").read_text().strip() or "default"
    except OSError:
        return "default"
