"""``--jobs``: scanning in worker processes gives the same report as scanning in one process."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kscan.cli import cli
from kscan.input.limits import DEFAULT_LIMITS
from kscan.results.suppression import Suppressor
from kscan.rules.profiles import Profiles
from kscan.scan import parallel
from kscan.scan.file_scan import ScanSetup
from kscan.support import spill

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"

TEAM_A = """\
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  annotations:
    kscan.io/ignore: "default-deny-network-policy: isolated by the mesh"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: team-a}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: api:1.0  # kscan: ignore[image-tag-latest] pinned by CI
          securityContext:
            privileged: true  # kscan: ignore[privileged-container]
"""
TEAM_B = """\
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: team-b}
spec:
  serviceAccountName: debugger
  containers: [{name: sh, image: busybox}]
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: team-b}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""
ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: debugger, namespace: team-b}
automountServiceAccountToken: false
"""
RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: debugger, namespace: team-b}]
"""
CONFIG = """\
suppressions:
  - rules: [cpu-limit]
    reason: measured
    namespace: team-a
  - rules: [host-network]
    reason: never matches
    namespace: nowhere
"""


@pytest.fixture
def workers_always(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Use workers for any input (not only 1 MiB and more); yields the pool sizes started."""
    started: list[int] = []
    real_pool = parallel._pool

    def counting_pool(jobs: int, args: tuple[Any, ...]) -> Any:
        started.append(jobs)
        return real_pool(jobs, args)

    monkeypatch.setattr(parallel, "available_cores", lambda: 8)  # workers even on one core
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_MIN_BATCH_BYTES", 1)
    monkeypatch.setattr(parallel, "_pool", counting_pool)
    yield started


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Files whose findings depend on each other: suppressions, namespaces, RBAC, context."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "context").mkdir()
    files = {
        "repo/a-team.yaml": TEAM_A,
        "repo/b-pod.yaml": TEAM_B,
        "repo/c-rbac.yaml": RBAC,
        "repo/d-broken.yaml": "kind: Pod\nmetadata: {name: [\n",
        "repo/e-invalid.yaml": "apiVersion: v1\nkind: Pod\nspec: {containers: web}\n",
        "context/policy.yaml": POLICY,
        "context/account.yaml": ACCOUNT,
        ".kscan.yaml": CONFIG,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "output_format",
    [
        "json",
        pytest.param("sarif", marks=pytest.mark.slow),
        pytest.param("text", marks=pytest.mark.slow),
    ],
)
def test_workers_report_what_one_process_reports(
    tree: Path, workers_always: list[int], output_format: str
) -> None:
    args = [
        *("--format", output_format, "--enable", "all", "--warn-unused-suppressions"),
        *("--config", str(tree / ".kscan.yaml"), "--context", str(tree / "context")),
        *("--show-suppressed", str(tree / "repo"), str(FIXTURES)),
    ]
    one = run("--jobs", "1", *args)
    assert workers_always == []
    two = run("--jobs", "2", *args)
    assert workers_always == [2, 2]  # the scanned files, then the context files
    assert one.exit_code == two.exit_code == 2  # the broken and the invalid file
    assert one.stdout == two.stdout
    assert one.stderr == two.stderr
    assert "d-broken.yaml:3:1: error:" in two.stderr
    assert "suppression of host-network matches no finding" in two.stderr
    assert "a-team.yaml:17:27: warning: suppression of image-tag-latest" in two.stderr


def test_files_given_out_of_order_report_as_with_one_process(
    workers_always: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files named out of order make worker batches whose findings overlap: each batch's run
    is sorted, the runs are merged (beyond ``FAN_IN``, into fewer runs first), and the report is
    the one of a single process."""
    monkeypatch.setattr(spill, "FAN_IN", 2)
    monkeypatch.setattr(spill, "HELD_BYTES", 10_000)
    files = sorted(str(path) for path in FIXTURES.rglob("*.yaml"))
    shuffled = files[1::3] + files[::3] + files[2::3]
    args = ["--format", "json", "--enable", "all", *shuffled]
    one = run("--jobs", "1", *args)
    two = run("--jobs", "2", *args)
    assert workers_always == [2]
    assert one.exit_code == two.exit_code
    assert json.loads(one.stdout)["summary"]["findings"] > 1000
    assert one.stdout == two.stdout


def test_suppressions_and_cross_object_rules_work_in_workers(
    tree: Path, workers_always: list[int]
) -> None:
    args = ["--format", "json", "--config", str(tree / ".kscan.yaml"), str(tree / "repo")]
    report = run("--jobs", "2", "--context", str(tree / "context"), *args).stdout
    assert workers_always
    assert '"rule_name": "rbac-read-secrets"' in report
    assert "bound to ServiceAccount team-b/debugger via RoleBinding 'team-b/read'" in report
    assert '"reason": "isolated by the mesh"' in report  # a Namespace annotation, another file
    assert '"reason": "measured"' in report  # a configured suppression
    without_context = run("--jobs", "2", *args).stdout
    deny = "Namespace 'team-b' runs workloads (Pod 'team-b/debug' first) but no NetworkPolicy"
    assert deny not in report
    assert deny in without_context


@pytest.mark.slow  # 10 s: CI runs it with the slow tests
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
def test_the_corpus_scans_the_same_with_any_number_of_jobs() -> None:
    """The corpus (12 MB) is above the size from which workers are used."""
    reports = [run("--jobs", jobs, "--format", "json", str(CORPUS)) for jobs in "123"]
    assert reports[0].exit_code == 1
    assert reports[0].stdout == reports[1].stdout == reports[2].stdout


def _dying_worker(paths: list[str]) -> bytes:
    os._exit(3)


def test_a_dead_worker_is_one_clear_error(
    tree: Path, workers_always: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "_scan_batch", _dying_worker)
    result = run("--jobs", "2", str(tree / "repo"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "kscan: internal error: RuntimeError: a worker process stopped unexpectedly "
        "(set KSCAN_DEBUG=1 for details)"
    )


def test_batches_keep_the_order_of_files(tmp_path: Path) -> None:
    paths = []
    for index, size in enumerate([10, 300_000, 5, 5, 600_000, 1]):
        path = tmp_path / f"{index}.yaml"
        path.write_bytes(b"#" * size)
        paths.append(str(path))
    sizes = [parallel._size(path) for path in paths]
    batches = parallel._batches(paths, sizes, jobs=2)
    assert [p for batch in batches for p in batch] == paths
    assert len(batches) > 1


def test_equal_files_make_batches_of_equal_size() -> None:
    """50 equal files in 16 batches: 16 of 3 or 4 files (cutting each batch as soon as the next
    file would pass the target made 17, the last of 2 files, scanned while a worker idled)."""
    sizes = [280_000] * 50
    batches = parallel._batches([str(i) for i in range(50)], sizes, jobs=2)
    assert len(batches) == 2 * parallel._BATCHES_PER_JOB
    assert {len(batch) for batch in batches} == {3, 4}
    assert [int(p) for batch in batches for p in batch] == list(range(50))


def test_batches_stay_within_their_bound() -> None:
    """A batch holds more than ``_MAX_BATCH_BYTES`` only as one file larger than that."""
    sizes = [(index * 7_919) % 5_000_000 + 1 for index in range(400)]
    sizes[17] = sizes[300] = parallel._MAX_BATCH_BYTES + 1
    paths = [str(index) for index in range(len(sizes))]
    batches = parallel._batches(paths, sizes, jobs=2)
    assert [p for batch in batches for p in batch] == paths
    for batch in batches:
        total = sum(sizes[int(p)] for p in batch)
        assert total <= parallel._MAX_BATCH_BYTES or len(batch) == 1


def test_small_inputs_and_stdin_stay_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "available_cores", lambda: 8)
    (tmp_path / "a.yaml").write_text(TEAM_B)
    (tmp_path / "b.yaml").write_text(ACCOUNT)
    setup = ScanSetup(Profiles.single([]).assign([]), Suppressor(), DEFAULT_LIMITS, "<stdin>")
    runner = parallel.Workers(setup, jobs=8)

    def sizes(*names: str) -> list[int]:
        return [parallel._size(str(tmp_path / name)) for name in names]

    assert not runner._worth_workers(sizes("a.yaml", "b.yaml"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * parallel.PARALLEL_MIN_BYTES)
    assert runner._worth_workers(sizes("a.yaml", "big.yaml"))
    assert not runner._worth_workers(sizes("big.yaml"))


def test_one_free_core_scans_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With one core to run on, --jobs 2 starts no workers: they could only be slower."""
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * parallel.PARALLEL_MIN_BYTES)
    (tmp_path / "a.yaml").write_text(TEAM_B)
    setup = ScanSetup(Profiles.single([]).assign([]), Suppressor(), DEFAULT_LIMITS, "<stdin>")
    runner = parallel.Workers(setup, jobs=2)
    assert not runner._worth_workers(
        [parallel._size(str(tmp_path / n)) for n in ("a.yaml", "big.yaml")]
    )


@pytest.mark.parametrize(
    ("written", "cores"),
    [
        ("max 100000\n", None),
        ("200000 100000\n", 2),
        ("150000 100000\n", 1),
        ("50000 100000\n", 1),
        ("", None),
    ],
)
def test_cgroup_quota_in_whole_cores(tmp_path: Path, written: str, cores: int | None) -> None:
    quota = tmp_path / "cpu.max"
    quota.write_text(written)
    assert parallel._cgroup_cpu_quota(str(quota)) == cores
    assert parallel._cgroup_cpu_quota(str(tmp_path / "absent")) is None
