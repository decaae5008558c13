"""`kcanary lint FILE`: the InvalidSpec message the controller would give, offline, per
InferenceService; exit 1 when any is invalid, 2 when there is nothing to check."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from cli_harness import VENV_BIN, Result
from kubectl_harness import PINNED_KUBECTL

from kcanary.cli import main
from reconcile.spec_check import check_spec

BAD_QUERY = "kcanary.io/analysis: metrics.queries: metric template 'istio': the requests query"


def isvc(name: str, analysis: str | None = None, **annotations: str) -> str:
    """One ISVC document with kcanary's strategy (plus `annotations`) unless told otherwise."""
    found = {"kcanary.io/strategy": "canary", "kcanary.io/traffic": "istio", **annotations}
    if analysis is not None:
        found["kcanary.io/analysis"] = analysis
    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "annotations": found},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/1"}}
        },
    }
    return yaml.safe_dump(document)


GOOD = isvc("iris")
# Passes the annotation parser; the analysis built from it cannot be (a function in a query).
BAD_ANALYSIS = isvc("churn", "metrics:\n  queries:\n    requests: rate(x[5m])\n")
BAD_ANNOTATION = isvc("fraud", **{"kcanary.io/steps": "10,5"})


def lint(stdin: str = "", *args: str) -> Result:
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["lint", *args])
    return Result(code, stdout.getvalue(), stderr.getvalue())


def write(tmp_path: Path, *documents: str) -> str:
    path = tmp_path / "isvcs.yaml"
    path.write_text("---\n".join(documents), encoding="utf-8")
    return str(path)


def test_a_valid_file_prints_ok_for_each_isvc_and_exits_0(tmp_path: Path) -> None:
    result = lint("", write(tmp_path, GOOD, isvc("iris-2", **{"kcanary.io/steps": "20,50"})))
    assert (result.code, result.out, result.err) == (0, "iris: ok\niris-2: ok\n", "")


def test_an_invalid_isvc_gets_the_controllers_message_and_exit_1(tmp_path: Path) -> None:
    result = lint("", write(tmp_path, GOOD, BAD_ANALYSIS, BAD_ANNOTATION))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "iris: ok"
    assert lines[1].startswith(f"churn: {BAD_QUERY}")
    for line, document in zip(lines[1:], (BAD_ANALYSIS, BAD_ANNOTATION), strict=True):
        problem = check_spec(yaml.safe_load(document))
        assert not hasattr(problem, "plan"), problem
        assert line.split(": ", 1)[1] == str(problem)
    assert lines[2].startswith("fraud: kcanary.io/steps: ")


def test_standard_input_is_read_for_a_dash() -> None:
    result = lint(BAD_ANALYSIS, "-")
    assert result.code == 1
    assert result.out.startswith(f"churn: {BAD_QUERY}")


def test_other_kinds_are_skipped_and_unmanaged_isvcs_fail_nothing(tmp_path: Path) -> None:
    config_map = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    plain = yaml.safe_dump(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "plain"},
        }
    )
    result = lint("", write(tmp_path, config_map, plain, GOOD))
    assert result.code == 0
    assert result.out == (
        "plain: not managed by kcanary (no kcanary.io/ annotation), not checked\niris: ok\n"
    )


def test_a_kind_list_is_looked_into(tmp_path: Path) -> None:
    listed = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(BAD_ANNOTATION)]}
    )
    result = lint("", write(tmp_path, listed))
    assert result.code == 1
    assert result.out.startswith("fraud: kcanary.io/steps: ")


def test_a_value_that_is_not_a_string_says_to_quote_it(tmp_path: Path) -> None:
    result = lint(
        "", write(tmp_path, GOOD.replace("kcanary.io/traffic: istio", "kcanary.io/traffic: 5"))
    )
    assert (result.code, result.out) == (
        1,
        "iris: kcanary.io/traffic: is not a string: quote the value in the YAML\n",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [\n", "is not YAML: while parsing a flow node"),
        ("", "holds no InferenceService (kind: InferenceService"),
        ("apiVersion: v1\nkind: ConfigMap\n", "holds no InferenceService"),
        ("just text\n", "holds no InferenceService"),
    ],
    ids=["not-yaml", "empty", "no-isvc", "a-scalar"],
)
def test_nothing_to_check_is_one_error_line_and_exit_2(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path, content)
    result = lint("", path)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"error: {path} {message}")
    assert result.err.count("\n") == 1


def test_a_file_that_cannot_be_read_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = lint("", str(missing))
    assert (result.code, result.err) == (
        2,
        f"error: cannot read {missing}: No such file or directory\n",
    )


def kubectl_canary(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert PINNED_KUBECTL is not None, "the dev extra's kubectl is not installed"
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path)
    return subprocess.run(
        [PINNED_KUBECTL, "canary", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_kubectl_canary_lint_gives_the_same_answers(tmp_path: Path) -> None:
    good = kubectl_canary(tmp_path, "lint", write(tmp_path, GOOD))
    assert (good.returncode, good.stdout) == (0, "iris: ok\n"), good.stderr
    bad = kubectl_canary(tmp_path, "lint", "-", stdin=BAD_ANALYSIS)
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.startswith(f"churn: {BAD_QUERY}")
    unreadable = kubectl_canary(tmp_path, "lint", str(tmp_path / "missing.yaml"))
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("error: cannot read ")
