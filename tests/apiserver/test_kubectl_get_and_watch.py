"""`kubectl get` tables and `kubectl get -w` against the local server."""

from __future__ import annotations

import subprocess
import time

from apiserver_manifests import isvc
from kubectl_harness import Kubectl, unique_name

IRIS_COLUMNS = ["NAME", "URL", "READY", "PREV", "LATEST", "PREVROLLEDOUTREVISION",
                "LATESTREADYREVISION", "AGE"]  # fmt: skip


def _read_lines_until(process: subprocess.Popen[str], count: int, deadline: float) -> list[str]:
    """Lines kubectl printed, once there are `count` of them (or the deadline passed)."""
    assert process.stdout is not None
    lines: list[str] = []
    while len(lines) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return lines


def test_get_shows_the_crds_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    table = kubectl.run("get", "isvc", "-n", namespace)
    lines = table.stdout.splitlines()
    assert lines[0].split() == IRIS_COLUMNS
    assert lines[1].split()[0] == name

    wide = kubectl.run("get", "inferencerollouts.kcanary.io", "-n", namespace, "-o", "wide")
    assert "No resources found" in wide.stderr


def test_get_watch_sees_a_later_change_with_the_printer_columns(
    kubectl: Kubectl, namespace: str
) -> None:
    isvc_name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(isvc_name, namespace))
    kubectl.run("create", "configmap", "settings", "-n", namespace, "--from-literal=a=1")
    by_name = kubectl.popen("get", "isvc", isvc_name, "-n", namespace, "-w")
    listing = kubectl.popen("get", "configmaps", "-n", namespace, "-w")
    try:
        deadline = time.monotonic() + 20
        assert _read_lines_until(by_name, 2, deadline)[0].split() == IRIS_COLUMNS
        assert _read_lines_until(listing, 2, deadline)[0].split() == ["NAME", "DATA", "AGE"]
        kubectl.run("label", "isvc", isvc_name, "-n", namespace, "changed=yes")
        kubectl.run("label", "configmap", "settings", "-n", namespace, "changed=yes")
        later = _read_lines_until(by_name, 1, deadline)
        assert later and later[0].split()[0] == isvc_name
        # a Table event: NAME, DATA and AGE (a plain object would print NAME and AGE only)
        changed = _read_lines_until(listing, 1, deadline)
        assert changed and changed[0].split()[:2] == ["settings", "1"]
    finally:
        for process in (by_name, listing):
            process.kill()
            process.communicate(timeout=10)


def test_get_by_label_selector_lists_only_matching_objects(
    kubectl: Kubectl, namespace: str
) -> None:
    for index, tier in enumerate(["gold", "gold", "silver"]):
        name = f"cm-{index}"
        kubectl.run("create", "configmap", name, "-n", namespace)
        kubectl.run("label", "configmap", name, "-n", namespace, f"tier={tier}")
    gold = kubectl.run(
        "get", "configmaps", "-n", namespace, "-l", "tier=gold", "-o", "name"
    ).stdout.split()
    assert gold == ["configmap/cm-0", "configmap/cm-1"]
    not_gold = kubectl.run(
        "get", "configmaps", "-n", namespace, "-l", "tier notin (gold)", "-o", "name"
    ).stdout.split()
    assert not_gold == ["configmap/cm-2"]
    by_name = kubectl.run(
        "get", "configmaps", "-n", namespace, "--field-selector", "metadata.name=cm-1",
        "-o", "name",
    ).stdout.split()  # fmt: skip
    assert by_name == ["configmap/cm-1"]


def test_get_pages_through_large_lists(kubectl: Kubectl, namespace: str) -> None:
    for index in range(7):
        kubectl.run("create", "configmap", f"page-{index}", "-n", namespace)
    paged = kubectl.run("get", "configmaps", "-n", namespace, "--chunk-size=2", "-o", "name")
    assert paged.stdout.split() == [f"configmap/page-{index}" for index in range(7)]
