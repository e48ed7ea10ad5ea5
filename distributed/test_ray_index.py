#!/usr/bin/env python3
"""The Ray job, for real: a local Ray cluster of three simulated nodes (one CPU each, from
`ray.cluster_utils.Cluster`) builds the index of the repository's eval/ corpora (at most
RECORDS_PER_SET records of each), written as one file per record. One part's worker is
killed (SIGKILL, with its akapit) once that part has stored its first checkpoint; Ray
retries the task, which resumes. The joined index must then hold every document once, with
as many passages as a single-process build of the same files, and answer every sampled
question in every mode as that build does (the same passages, scores within TOLERANCE).

    python3 distributed/test_ray_index.py AKAPIT WORK     (run by .ci/run)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ray_index  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SETS = ["poquad-dev", "xquad-en", "tatoeba-en-pl", "gnome-help-pl", "gnome-help-en", "manpages-pl"]
QUESTIONS_PER_SET = 10
# manpages-pl alone has 4,610 records, two thirds of the whole; its first 1,500 keep the test
# about 40% shorter and still give every part thousands of files of every kind.
RECORDS_PER_SET = 1500
# How far one passage's score may move between the Ray-built index and the single build.
# A passage's vector no longer depends on the batch it was embedded in (attention and
# pooling run over each sequence's own length; `tests/golden_e5.rs` checks the bits), so
# what is left is the graph search and the float sums of the scores.
TOLERANCE = 5e-4


def write_corpus(root: Path) -> int:
    count = 0
    for name in SETS:
        (root / name).mkdir(parents=True, exist_ok=True)
        with open(REPO / "eval" / name / "corpus.jsonl", encoding="utf-8") as lines:
            records = [json.loads(line) for _, line in zip(range(RECORDS_PER_SET), lines)]
        for record in records:
            file = "".join(c if c.isalnum() or c in "_.-" else "_" for c in str(record["_id"]))
            title = (record.get("title") or "").strip()
            text = f"{title}\n\n{record['text']}" if title else record["text"]
            (root / name / f"{file[:80]}.txt").write_text(text + "\n", encoding="utf-8")
            count += 1
    return count


def questions() -> list[str]:
    picked = []
    for name in SETS:
        lines = open(REPO / "eval" / name / "queries.jsonl", encoding="utf-8").readlines()
        step = max(1, len(lines) // QUESTIONS_PER_SET)
        picked += [json.loads(line)["text"] for line in lines[::step][:QUESTIONS_PER_SET]]
    return picked


def stored_documents(part: Path) -> int:
    """Documents the part's unfinished segment has stored (0 before its first checkpoint)."""
    for tmp in part.glob("seg-*.tmp"):
        try:
            with sqlite3.connect(tmp / "passages.sqlite", timeout=1) as db:
                return db.execute("SELECT count(*) FROM documents").fetchone()[0]
        except sqlite3.Error:
            return 0
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def kill_midway(work: Path, number: int, killed: dict) -> None:
    """Kills part `number`'s worker and its akapit once the part has stored documents."""
    pid_file = work / f"part-{number:04d}.pid"
    part = work / f"part-{number:04d}"
    deadline = time.time() + 1800
    while time.time() < deadline:
        if pid_file.exists() and stored_documents(part) > 0:
            worker = int(pid_file.read_text())
            victims = children(worker) + [worker]
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed.update(pids=victims, stored=stored_documents(part), at=time.time())
            return
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(akapit: str, index: Path):
    """`akapit serve` on `index`, on a free port, until the block ends: its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [akapit, "serve", "--index", str(index), "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/api/status", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait()


def search(base: str, question: str, mode: str, k: int = 10) -> list[dict]:
    """One question's results from a running `akapit serve`."""
    query = urllib.parse.urlencode({"q": question, "k": k, "mode": mode})
    return json.loads(urllib.request.urlopen(f"{base}/api/search?{query}", timeout=60).read())[
        "results"
    ]


def answers(akapit: str, index: Path, asked: list[str]) -> dict:
    """Every question's top 10 in every mode, from `akapit serve` on `index`."""
    with serving(akapit, index) as base:
        return {
            (question, mode): [(r["doc"], r["paragraph"], r["score"])
                               for r in search(base, question, mode)]
            for question in asked
            for mode in ["dense", "lexical", "hybrid"]
        }


def same(found: list, expected: list, tolerance: float = TOLERANCE) -> bool:
    """The same passages with the same scores, allowing encoder noise; passages whose
    scores tie within it may swap places."""
    if len(found) != len(expected):
        return False
    if any(abs(a[2] - b[2]) > tolerance for a, b in zip(found, expected)):
        return False
    # A passage that beats a list's last score by more than twice the noise beats the other
    # list's last too, so it must be in both; nearer the end, ties may fall either way.
    for one, other in ((found, expected), (expected, found)):
        keys = {(d, p) for d, p, _ in other}
        if one and any((d, p) not in keys for d, p, s in one if s > one[-1][2] + 2 * tolerance):
            return False
    return True


def main() -> None:
    akapit, work = sys.argv[1], Path(sys.argv[2]).resolve()
    corpus = work / "corpus"
    files = write_corpus(corpus)
    asked = questions()

    started = time.time()
    single = subprocess.run(
        [akapit, "index", str(corpus), "--index", str(work / "single"), "--json", "--quiet"],
        check=True, capture_output=True, text=True,
    )
    single_seconds = time.time() - started
    reference = json.loads(single.stdout)

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    os.environ["RAY_ADDRESS"] = cluster.address
    killed: dict = {}
    killer = threading.Thread(target=kill_midway, args=(work / "parts", 1, killed), daemon=True)
    killer.start()
    try:
        summary = ray_index.main([
            str(corpus), "--index", str(work / "joined"), "--work", str(work / "parts"),
            "--parts", "3", "--akapit", akapit,
        ])
    finally:
        ray.shutdown()
        cluster.shutdown()
    killer.join(timeout=1)
    assert killed, "part 1 finished before it could be killed"

    joined = summary["index"]
    assert joined["documents"] == files == reference["documents"], (joined, reference)
    assert joined["passages"] == reference["passages"], (joined, reference)
    manifest = json.loads((work / "joined" / "manifest.json").read_text())
    paths = [d["path"] for d in manifest["documents"]]
    assert len(paths) == len(set(paths)) == files, "a document is missing or twice"
    assert manifest["roots"] == [str(corpus.resolve())], manifest["roots"][:3]

    expected = answers(akapit, work / "single", asked)
    found = answers(akapit, work / "joined", asked)
    differ = [key for key in expected if not same(found[key], expected[key])]
    assert not differ, f"{len(differ)} answers differ, e.g. {differ[0]}: " \
        f"{found[differ[0]]} against {expected[differ[0]]}"
    print(json.dumps({
        "files": files,
        "passages": joined["passages"],
        "single_process_seconds": round(single_seconds, 1),
        "ray_seconds": summary["seconds_total"],
        "parts": [{k: p[k] for k in ("part", "files", "passages", "seconds")}
                  for p in summary["parts"]],
        "killed": {"pids": killed["pids"], "documents_stored_then": killed["stored"]},
        "questions": len(asked),
        "answers_compared": len(expected),
        "largest_score_difference": round(max(
            (abs(a[2] - b[2]) for key in expected for a, b in zip(found[key], expected[key])),
            default=0.0), 5),
    }, indent=2))
    print("ok: the Ray build, with a worker killed midway, answers as a single build")


if __name__ == "__main__":
    main()
