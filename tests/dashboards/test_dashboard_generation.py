"""The committed dashboard JSON is exactly what the generator writes, and it is well formed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import generate

REPO = Path(__file__).resolve().parents[2]


def test_committed_files_are_byte_identical_to_a_fresh_generation() -> None:
    stale = generate.stale_files(REPO)
    assert stale == [], f"run `python -m dashboards.generate`; out of date: {stale}"


def test_generation_is_deterministic_within_and_across_processes() -> None:
    first = generate.expected_files(REPO)
    second = generate.expected_files(REPO)
    assert first == second
    result = subprocess.run(
        [sys.executable, "-m", "dashboards.generate", "--check", "--root", str(REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _scratch_checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "dashboards").mkdir(parents=True)
    (root / "deploy").mkdir()
    return root


def test_check_fails_naming_a_missing_edited_or_orphaned_file(tmp_path: Path) -> None:
    root = _scratch_checkout(tmp_path)
    missing = generate.stale_files(root)
    assert len(missing) == len(generate.expected_files(root))

    assert generate.main(["--root", str(root)]) == 0
    assert generate.stale_files(root) == []
    assert generate.main(["--check", "--root", str(root)]) == 0

    edited = root / generate.DASHBOARD_DIR / "kcanary-rollouts-overview.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("30s", "1m"), encoding="utf-8")
    orphan = root / generate.DASHBOARD_DIR / "old-dashboard.json"
    orphan.write_text("{}\n", encoding="utf-8")
    assert generate.stale_files(root) == [edited, orphan]
    assert generate.main(["--check", "--root", str(root)]) == 1

    generate.main(["--root", str(root)])
    assert not orphan.exists()
    assert generate.stale_files(root) == []


def test_generator_refuses_a_directory_that_is_not_a_checkout(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dashboards.generate", "--check", "--root", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "is not a kcanary checkout" in result.stderr


def _dashboards() -> dict[str, dict[str, object]]:
    return {d.uid: d.model for d in generate.render_all()}


def _all_panels(panels: list[dict[str, object]]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for panel in panels:
        found.append(panel)
        nested = panel.get("panels", [])
        assert isinstance(nested, list)
        found += _all_panels(nested)
    return found


def test_dashboards_have_title_derived_uids_and_unique_panel_ids() -> None:
    dashboards = _dashboards()
    assert set(dashboards) == {"kcanary-rollouts-overview", "kcanary-canary-vs-stable"}
    for uid, model in dashboards.items():
        assert generate.uid_for(str(model["title"])) == uid
        panels = model["panels"]
        assert isinstance(panels, list)
        ids = [p["id"] for p in _all_panels(panels)]
        assert ids == list(range(1, len(ids) + 1)), uid
        assert "version" not in model and "id" not in model


def test_every_panel_queries_the_templated_datasource() -> None:
    for uid, model in _dashboards().items():
        variables = {v["name"]: v for v in model["templating"]["list"]}  # type: ignore[index]
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["namespace"]["query"].startswith("label_values(")
        panels = model["panels"]
        assert isinstance(panels, list)
        for panel in _all_panels(panels):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (
                uid,
                panel["title"],
            )


def test_collapsed_rows_hold_their_panels_and_open_rows_are_followed_by_theirs() -> None:
    model = _dashboards()["kcanary-canary-vs-stable"]
    panels = model["panels"]
    assert isinstance(panels, list)
    rows = [p for p in panels if p["type"] == "row"]
    titles = [r["title"] for r in rows]
    assert any("Istio" in t for t in titles)
    assert any("Knative" in t for t in titles)
    assert any("KServe" in t for t in titles)
    for r in rows:
        if r["collapsed"]:
            assert r["panels"], r["title"]
        else:
            assert r["panels"] == [], r["title"]


def test_decisions_are_annotations_on_both_dashboards() -> None:
    for uid, model in _dashboards().items():
        annotations = model["annotations"]["list"]  # type: ignore[index]
        names = {a["name"] for a in annotations}
        assert names == {"kcanary promoted", "kcanary rolled back", "kcanary aborted"}, uid
        for annotation in annotations:
            assert "kcanary_decisions_total" in annotation["expr"]
            assert annotation["datasource"]["uid"] == "${datasource}"


def test_sidecar_configmap_carries_the_label_and_exactly_the_generated_json() -> None:
    text = (REPO / generate.CONFIGMAP_PATH).read_text(encoding="utf-8")
    configmap = yaml.safe_load(text)
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "namespace" not in configmap["metadata"]
    for name, body in configmap["data"].items():
        assert body == (REPO / generate.DASHBOARD_DIR / name).read_text(encoding="utf-8")
        json.loads(body)
    # Client-side `kubectl apply` keeps a copy in an annotation limited to 256 KiB.
    assert len(text.encode()) < 200 * 1024


def test_provisioning_file_points_at_the_generated_json() -> None:
    provider = yaml.safe_load(
        (REPO / "dashboards" / "provisioning" / "dashboards.yaml").read_text()
    )
    assert provider["apiVersion"] == 1
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"]


def test_committed_json_decodes_as_the_sdk_dashboard_model_unchanged() -> None:
    """Every field is one the Grafana dashboard schema knows, with the type it expects."""
    for path in sorted((REPO / generate.DASHBOARD_DIR).glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        decoded = Dashboard.from_json(raw)
        assert json.loads(json.dumps(decoded, cls=JSONEncoder)) == raw, path.name
