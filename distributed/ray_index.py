#!/usr/bin/env python3
"""Builds an akapit index on a Ray cluster.

The corpus (files and folders on storage every node sees) is listed and cut into parts of
about equal size in bytes. Each part is one Ray task, which runs `akapit index` on its files
into its own part index. The driver then joins the parts with `akapit attach`, in one
atomic commit, without embedding anything again.

A task that dies (its worker killed, its node lost) is retried by Ray. The retry runs
`akapit index` on the same part folder, which resumes from the last checkpoint of the
killed run, so at most about a minute of embedding is lost. A part that was already
finished is up to date and costs nothing.

    RAY_ADDRESS=ray://head:10001 python3 distributed/ray_index.py CORPUS... \\
        --index /shared/index --work /shared/akapit-parts [--parts N] [--akapit PATH]

Needs `pip install -r distributed/requirements.txt` on the driver and the nodes, and the
akapit binary and its model on every node (`--akapit`, `AKAPIT_MODEL_DIR`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ray

# What `akapit index` reads (README, "Documents").
EXTENSIONS = {".txt", ".md", ".pdf", ".html", ".htm", ".xhtml", ".docx", ".odt", ".epub"}


def list_corpus(roots: list[str]) -> list[tuple[str, int]]:
    """Every file akapit would index under `roots`, as (absolute path, bytes), sorted."""
    found = {}
    for root in roots:
        root = Path(root).resolve()
        candidates = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            hidden = any(part.startswith(".") for part in path.relative_to(root.parent).parts)
            if path.suffix.lower() in EXTENSIONS and not hidden:
                found[str(path)] = path.stat().st_size
    return sorted(found.items())


def partition(files: list[tuple[str, int]], parts: int) -> list[list[str]]:
    """`files` in `parts` groups of about equal bytes (largest first, each to the lightest
    group), each group sorted; deterministic, and no group empty."""
    parts = max(1, min(parts, len(files)))
    groups: list[list[str]] = [[] for _ in range(parts)]
    weights = [0] * parts
    for path, size in sorted(files, key=lambda f: (-f[1], f[0])):
        lightest = min(range(parts), key=lambda i: (weights[i], i))
        groups[lightest].append(path)
        weights[lightest] += max(size, 1)
    return [sorted(group) for group in groups]


def run_akapit(akapit: str, args: list[str], threads: int = 0) -> dict:
    """Runs akapit with `--json` and returns its report; raises with its stderr on failure.
    `threads` caps the encoder's threads (0: all cores)."""
    env = dict(os.environ)
    if threads > 0:
        env["RAYON_NUM_THREADS"] = str(threads)
    done = subprocess.run([akapit, *args, "--json"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"akapit {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)


@ray.remote(max_retries=3, retry_exceptions=False)
def build_part(
    akapit: str, number: int, files: list[str], work: str, extra: list[str], threads: int
) -> dict:
    """Indexes one part of the corpus into `work/part-NNNN` and reports how it went."""
    folder = Path(work) / f"part-{number:04d}"
    listing = Path(work) / f"part-{number:04d}.files"
    if not listing.exists():
        tmp = listing.with_suffix(".files.tmp")
        tmp.write_text("\n".join(files) + "\n", encoding="utf-8")
        os.replace(tmp, listing)
    # Who is running this part, for a test that kills it midway.
    (Path(work) / f"part-{number:04d}.pid").write_text(str(os.getpid()))
    started = time.time()
    report = run_akapit(
        akapit,
        ["index", "--index", str(folder), "--files-from", str(listing), "--quiet", *extra],
        threads,
    )
    return {
        "part": number,
        "folder": str(folder),
        "files": len(files),
        "passages": report["passages"],
        "embedded_passages": report["embedded_passages"],
        "seconds": round(time.time() - started, 2),
        "node": ray.get_runtime_context().get_node_id(),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="+", help="files and folders to index")
    parser.add_argument("--index", required=True, help="the index to build or add to")
    parser.add_argument("--work", required=True, help="folder for the part indexes")
    parser.add_argument("--parts", type=int, default=0,
                        help="parts to cut the corpus into (default: the cluster's CPUs)")
    parser.add_argument("--akapit", default="akapit", help="the akapit binary on every node")
    parser.add_argument("--model", help="embedding model (default: akapit's)")
    parser.add_argument("--vectors", help="how vectors are stored: f32, f16 or i8")
    parser.add_argument("--cpus-per-part", type=float, default=1.0,
                        help="CPUs Ray reserves for each part's task")
    args = parser.parse_args(argv)

    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    files = list_corpus(args.corpus)
    if not files:
        sys.exit("no files to index under " + ", ".join(args.corpus))
    parts = args.parts or max(1, int(ray.cluster_resources().get("CPU", 1)))
    groups = partition(files, parts)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    extra = []
    if args.model:
        extra += ["--model", args.model]
    if args.vectors:
        extra += ["--vectors", args.vectors]
    started = time.time()
    task = build_part.options(num_cpus=args.cpus_per_part)
    pending = [
        task.remote(
            args.akapit, i, group, str(Path(args.work).resolve()), extra,
            max(1, round(args.cpus_per_part)),
        )
        for i, group in enumerate(groups)
    ]
    built = ray.get(pending)
    embedded = time.time() - started
    # The corpus's folders become the index's roots, so that a later `akapit index` there
    # (with no paths) walks them, rather than each part's list of files.
    roots = [arg for path in args.corpus for arg in ("--root", os.path.abspath(path))]
    joined = run_akapit(
        args.akapit,
        ["attach", *[b["folder"] for b in built], *roots, "--index", args.index, "--quiet"],
    )
    summary = {
        "files": len(files),
        "parts": built,
        "seconds_embedding": round(embedded, 2),
        "seconds_total": round(time.time() - started, 2),
        "index": joined,
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
