"""deploy/k8s (Kustomize base + example overlay) rendered with `kubectl kustomize` and validated against the
Kubernetes API schemas (kubernetes-validate, strict: unknown fields are errors), then held to the deployment rules:
non-root read-only pods, probes, resources, secrets referenced by name only, the API waiting for migrations, a
worker grace period longer than the longest job. No cluster needed. Without kubectl the test is skipped, except
under CI=true, where it fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.worker.settings import WorkerSettings
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
SECRET_NAMES = re.compile(r"(URL|KEY|SECRET|PASSWORD|TOKEN)", re.I)


def _render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not installed (.ci/run installs it)")
        pytest.skip("kubectl is not installed")
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }


@pytest.mark.parametrize("target", ["base", "overlays/example"])
def test_manifests_are_valid_kubernetes(target: str) -> None:
    docs = _render(K8S / target)
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not errors, errors
    kinds = sorted({d["kind"] for d in docs})
    for kind in (
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ):
        assert kind in kinds
    assert "Secret" not in kinds  # referenced by name, never inlined


def test_pods_are_locked_down_and_secrets_only_referenced() -> None:
    docs = _render(K8S / "overlays" / "example")
    for name, pod in _pods(docs).items():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["seccompProfile"]["type"] == "RuntimeDefault", (
            name
        )
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{name}/{container['name']}"
            assert container["image"].startswith("registry.example.org/nakoming:"), where
            context = container["securityContext"]
            assert (
                context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            ), where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert (
                container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
            ), where
            assert {"secretRef": {"name": "nakoming"}} in container["envFrom"], where
            for env in container.get("env", []):
                assert not SECRET_NAMES.search(env["name"]), f"{where}: {env['name']} set inline"
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert not any(SECRET_NAMES.search(key) for key in config["data"]), config["data"]


def test_rollout_order_probes_scaling_and_shutdown() -> None:
    docs = _render(K8S / "overlays" / "example")
    pods = _pods(docs)
    api = pods["nakoming-api"]
    container = api["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # the API waits for the migration Job: an init container until `nakoming db check` passes
    assert "nakoming db check" in " ".join(api["initContainers"][0]["command"])
    assert pods["nakoming-migrate"]["containers"][0]["args"] == ["migrate"]
    deployment = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "nakoming-api"
    )
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nakoming-api" and hpa["spec"]["minReplicas"] >= 2
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert any(
            selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in deployments.values()
        )
    assert pods["nakoming-worker"]["terminationGracePeriodSeconds"] > WorkerSettings.job_timeout
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "nakoming")
    selected = policy["spec"]["podSelector"]["matchLabels"]
    for d in deployments.values():
        assert selected.items() <= d["spec"]["template"]["metadata"]["labels"].items(), d["metadata"]["name"]


def test_shutdown_grace_and_metrics_scraping_agree_with_the_settings() -> None:
    docs = _render(K8S / "overlays" / "example")
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    settings = Settings(
        **{
            k.removeprefix("NAKOMING_").lower(): v
            for k, v in config.items()
            if k.startswith("NAKOMING_") and k != "NAKOMING_ENVIRONMENT"
        },
        _env_file=None,
    )  # type: ignore[arg-type]
    deployments = {d["metadata"]["name"]: d["spec"]["template"] for d in docs if d["kind"] == "Deployment"}
    api = deployments["nakoming-api"]["spec"]
    pre_stop = api["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    # the kubelet's SIGKILL comes after the preStop pause and the whole grace period of uvicorn
    assert api["terminationGracePeriodSeconds"] > pre_stop + settings.shutdown_grace_seconds
    worker = deployments["nakoming-worker"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > settings.worker_grace_seconds
    assert settings.worker_grace_seconds >= WorkerSettings.job_timeout  # a running job may take all of it
    assert settings.metrics_port is not None
    for name, template in deployments.items():
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert int(annotations["prometheus.io/port"]) == settings.metrics_port, name
        ports = {p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert settings.metrics_port in ports, name
    ingress = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "nakoming")[
        "spec"
    ]
    metrics_rule = next(
        r for r in ingress["ingress"] if {"protocol": "TCP", "port": settings.metrics_port} in r["ports"]
    )
    assert metrics_rule["from"], "the metrics port (no key) must not be open to every pod"
    env = {e["name"]: e["value"] for e in api["containers"][0]["env"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith(
        "/tmp/"
    )  # the writable emptyDir; several uvicorn workers
