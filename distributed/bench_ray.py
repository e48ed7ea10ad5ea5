#!/usr/bin/env python3
"""The Ray job's speed-up from 1 to N simulated nodes, each of one CPU: the same corpus as
the test (every eval/ corpus, one file per record) built by `ray_index.py` on a local
`ray.cluster_utils.Cluster` of each size in turn, from nothing each time. Prints the wall
time and passages per second of each, and the CPU it ran on. A benchmark, not a test: it is
not run by CI (about 17 minutes on 2 cores for 1 and 3 nodes).

    python3 distributed/bench_ray.py AKAPIT WORK [--nodes 1 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ray_index  # noqa: E402
from test_ray_index import write_corpus  # noqa: E402


def cpu() -> str:
    info = Path("/proc/cpuinfo").read_text()
    name = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("model name"))
    flags = next(line.split(":", 1)[1].split() for line in info.splitlines()
                 if line.startswith("flags"))
    wanted = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni"]
    return f"{name} ({os.cpu_count()} cores; {' '.join(f for f in wanted if f in flags)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("akapit")
    parser.add_argument("work", type=Path)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    work = args.work.resolve()
    corpus = work / "corpus"
    if not corpus.is_dir():
        write_corpus(corpus)
    runs = []
    for nodes in args.nodes:
        for leftover in ("parts", "index"):
            shutil.rmtree(work / f"{leftover}-{nodes}", ignore_errors=True)
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1)
        os.environ["RAY_ADDRESS"] = cluster.address
        started = time.time()
        try:
            summary = ray_index.main([
                str(corpus), "--index", str(work / f"index-{nodes}"),
                "--work", str(work / f"parts-{nodes}"), "--parts", str(nodes),
                "--akapit", args.akapit,
            ])
        finally:
            ray.shutdown()
            cluster.shutdown()
        seconds = time.time() - started
        passages = summary["index"]["passages"]
        runs.append({"nodes": nodes, "seconds": round(seconds, 1),
                     "passages": passages, "passages_per_second": round(passages / seconds, 2)})
    base = runs[0]["seconds"]
    for run in runs:
        run["speed_up"] = round(base / run["seconds"], 2)
    print(json.dumps({"cpu": cpu(), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
