#!/usr/bin/env python3
"""Time and peak memory of kscan on one large file, against its size.

Usage::

    python bench/single_file.py [--sizes 10,25,60] [--workdir /tmp/kscan-single] [--jobs 1]

For each size (MB, 10^6 bytes) it writes two files, deterministically:

- ``large-<N>mb.yaml``: within kscan's default limits (at most 10,000 documents, under 64 MiB):
  Deployments of about 7 KB each (three containers with long env lists, probes, volumes);
- ``small-<N>mb.yaml``: the mix of ``bench/gen_scale_corpus.py`` (about 530 bytes a document:
  namespaces, RBAC, policies, workloads, Services...), all in one file, scanned with
  ``--max-documents`` raised to fit.

Each is scanned as a fresh ``python -m kscan --format json -o FILE`` process; the table shows
wall time, the process's peak resident memory (VmHWM from /proc), seconds per MB, and the time
PyYAML's libyaml composer (``yaml.compose_all`` with ``CSafeLoader``) takes on the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_scale_corpus import generate  # noqa: E402
from processes import measure  # noqa: E402

_ENV = "".join(
    f'        - name: SETTING_{n:02d}\n          value: "value-{n:02d}-of-the-service-config"\n'
    for n in range(24)
)


def large_document(number: int) -> str:
    """A Deployment of about 7 KB: three containers with long env lists."""
    containers = "".join(
        f"      - name: c{c}\n"
        f"        image: registry.example.com/team/app-{c}:1.{number % 50}\n"
        "        ports:\n        - containerPort: 8080\n"
        "        readinessProbe:\n          httpGet: {path: /healthz, port: 8080}\n"
        "        resources:\n          limits: {cpu: 500m, memory: 256Mi}\n"
        "        securityContext:\n          allowPrivilegeEscalation: false\n"
        "        volumeMounts:\n        - {name: data, mountPath: /data}\n"
        f"        env:\n{_ENV}"
        for c in range(3)
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: app-{number}\n  namespace: team-{number // 50}\n"
        f"  labels: {{app: app-{number}, tier: backend}}\n"
        "spec:\n  replicas: 2\n"
        f"  selector:\n    matchLabels: {{app: app-{number}}}\n"
        "  template:\n"
        f"    metadata:\n      labels: {{app: app-{number}, tier: backend}}\n"
        "    spec:\n      volumes:\n      - name: data\n        emptyDir: {}\n"
        f"      containers:\n{containers}"
    )


def write_large(path: Path, size: int) -> int:
    """Deployments of about 7 KB until ``size`` bytes; the number of documents."""
    written = count = 0
    with path.open("w") as out:
        while written < size:
            text = "---\n" + large_document(count)
            out.write(text)
            written += len(text)
            count += 1
    return count


def write_small(path: Path, size: int, workdir: Path) -> int:
    """The scale corpus's documents, in one file, until ``size`` bytes; the number written."""
    folder = workdir / f"scale-{size}"
    if not folder.exists():
        generate(folder, docs=size // 500 + 1000, per_file=1000, seed=7)
    written = count = 0
    with path.open("w") as out:
        for part in sorted(folder.rglob("*.yaml")):
            for text in part.read_text().split("\n---\n"):
                text = "---\n" + text.removeprefix("---\n").rstrip("\n") + "\n"
                if written >= size:
                    return count
                out.write(text)
                written += len(text)
                count += 1
    return count


def compose_seconds(path: Path) -> float:
    text = path.read_text()
    start = time.perf_counter()
    for _node in yaml.compose_all(text, Loader=yaml.CSafeLoader):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,25,60", help="file sizes in MB [10,25,60]")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kscan-single"))
    parser.add_argument("--jobs", default="1")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print("| file | MB | documents | kscan s | s/MB | peak RSS MB | libyaml compose s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for megabytes in (int(size) for size in args.sizes.split(",")):
        size = megabytes * 10**6
        for shape in ("large", "small"):
            path = args.workdir / f"{shape}-{megabytes}mb.yaml"
            if shape == "large":
                documents = write_large(path, size)
            else:
                documents = write_small(path, size, args.workdir)
            report = args.workdir / "report.json"
            command = [sys.executable, "-m", "kscan", "--jobs", args.jobs, "--format", "json"]
            command += ["-o", str(report), "--max-documents", str(max(documents, 10_000))]
            run = measure([*command, str(path)], cwd=HERE.parent)
            compose = compose_seconds(path)
            actual = path.stat().st_size / 10**6
            print(
                f"| {path.name} | {actual:.1f} | {documents:,} | {run.seconds:.1f} | "
                f"{run.seconds / actual:.2f} | {run.own_mb:.0f} | {compose:.1f} | "
                f"{run.seconds / compose:.1f}x |",
                flush=True,
            )
            if run.exit_code not in (0, 1):
                print(f"  exit code {run.exit_code}", flush=True)


if __name__ == "__main__":
    main()
