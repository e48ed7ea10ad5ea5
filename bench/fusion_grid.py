"""Chooses akapit's ranking defaults by leave-one-set-out evaluation, offline.

`akapit eval SET --candidates FILE` writes, per query, the dense candidates (top 100 with the
cosine of their best window and of their mean window vector) and the keyword candidates (top
100 with BM25), and the question's keyword coverage. This script scores every ranking
variant on those files without running a model again:

- granularity: the best window, the mean vector, their max or a weighted sum (and, from
  separate dumps, indexes built with other window policies: `--windows`);
- fusion: convex (BM25 squashed by bm25/(bm25+half)) or reciprocal-rank, with the keyword
  weight scaled per question by its coverage, by how much the two top lists agree, and by
  how far the best BM25 score stands out.

For each held-out set it picks the variant with the best score on the other sets and reports
it on the held-out one; then it picks the overall default the same way on all sets and
prints it with its numbers. Nothing here is tuned on the held-out set it reports.

    python3 bench/fusion_grid.py DUMPS_DIR MODEL [SET...]

DUMPS_DIR holds SET.MODEL.POLICY.jsonl files (bench/eval.sh makes them); qrels come from
eval/SET/qrels.tsv.
"""
import itertools
import json
import math
import os
import sys

K = 10


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            if float(s) > 0:
                qrels.setdefault(q, {})[d] = float(s)
    return qrels


def ndcg(ranked, relevant):
    seen, dcg = set(), 0.0
    i = 0
    for doc in ranked:
        if doc in seen:
            continue
        seen.add(doc)
        if i >= K:
            break
        dcg += relevant.get(doc, 0.0) / math.log2(i + 2)
        i += 1
    ideal = sorted(relevant.values(), reverse=True)[:K]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def read_dump(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- rankings -------------------------------------------------------------------------

def dense_scores(q, granularity):
    kind, alpha = granularity
    out = {}
    for doc, window, mean in q["dense"]:
        if kind == "window":
            out[doc] = window
        elif kind == "mean":
            out[doc] = mean
        elif kind == "max":
            out[doc] = max(window, mean)
        else:  # "mix"
            out[doc] = alpha * window + (1 - alpha) * mean
    return out


def signals(q, dense):
    """Per-question signals that need no judgements."""
    top_dense = [d for d, _ in sorted(dense.items(), key=lambda x: -x[1])[:K]]
    top_lex = [d for d, _ in q["lexical"][:K]]
    agreement = len(set(top_dense) & set(top_lex)) / K if top_lex else 0.0
    scores = [s for _, s in q["lexical"]]
    if len(scores) >= 2 and scores[0] > 0:
        standout = (scores[0] - scores[min(len(scores), K) - 1]) / scores[0]
    else:
        standout = 0.0
    return q["coverage"], agreement, standout


def fuse(q, granularity, fusion):
    dense = dense_scores(q, granularity)
    method, param, weight, cov_power, agree_power, standout_power = fusion
    coverage, agreement, standout = signals(q, dense)
    w = weight * (coverage ** cov_power) * (agreement ** agree_power) * (standout ** standout_power)
    w = min(max(w, 0.0), 1.0)
    lexical = dict(q["lexical"])
    ranked_dense = sorted(dense.items(), key=lambda x: (-x[1], x[0]))
    dense_rank = {d: i for i, (d, _) in enumerate(ranked_dense)}
    fused = {}
    if method == "rrf":
        for i, (d, _) in enumerate(ranked_dense):
            fused[d] = fused.get(d, 0.0) + 1.0 / (param + i + 1)
        for i, (d, _) in enumerate(q["lexical"]):
            fused[d] = fused.get(d, 0.0) + w / (param + i + 1)
    else:
        floor = ranked_dense[-1][1] if ranked_dense else 0.0
        for d in set(dense) | set(lexical):
            cosine = dense.get(d, floor)
            bm25 = max(lexical.get(d, 0.0), 0.0)
            fused[d] = (1 - w) * cosine + w * bm25 / (bm25 + param)
    return [d for d, _ in sorted(fused.items(),
                                 key=lambda x: (-x[1], dense_rank.get(x[0], 1 << 30), x[0]))]


def score(queries, qrels, rank):
    judged = [q for q in queries if q["query_id"] in qrels]
    return sum(ndcg(rank(q), qrels[q["query_id"]]) for q in judged) / max(len(judged), 1)


# --- the grid --------------------------------------------------------------------------

GRANULARITIES = [("window", None), ("mean", None), ("max", None)] + [
    ("mix", a) for a in (0.3, 0.5, 0.7)
]
FUSIONS = [("convex", half, w, cp, ap, sp)
           for half in (2.0, 5.0, 10.0)
           for w in (0.2, 0.3, 0.4, 0.5)
           for cp in (0.0, 1.0, 3.0)
           for ap in (0.0, 0.5, 1.0)
           for sp in (0.0, 1.0)] + [
    ("rrf", k, w, cp, ap, 0.0)
    for k in (20.0, 60.0)
    for w in (0.5, 1.0)
    for cp in (1.0, 3.0)
    for ap in (0.0, 1.0)]
# The default before these measurements: convex:5:0.3:3 over the best window.
BEFORE = (("window", None), ("convex", 5.0, 0.3, 3.0, 0.0, 0.0))


def name(variant):
    (g, a), (m, p, w, cp, ap, sp) = variant
    gran = g if a is None else f"{g}{a}"
    return f"{gran} {m}:{p:g}:{w:g} cov^{cp:g} agree^{ap:g} standout^{sp:g}"


def main():
    dumps, model = sys.argv[1], sys.argv[2]
    sets = sys.argv[3:] or sorted({f.split(".")[0] for f in os.listdir(dumps)
                                   if f.endswith(".jsonl") and f.split(".")[1] == model})
    policies = sorted({f.split(".")[2] for f in os.listdir(dumps)
                       if f.endswith(".jsonl") and f.split(".")[1] == model})
    data = {}
    for s in sets:
        qrels = read_qrels(os.path.join("eval", s, "qrels.tsv"))
        for policy in policies:
            path = os.path.join(dumps, f"{s}.{model}.{policy}.jsonl")
            if os.path.exists(path):
                data[(s, policy)] = (read_dump(path), qrels)
    policies = [p for p in policies if all((s, p) in data for s in sets)]
    print(f"model {model}; sets {', '.join(sets)}; window policies {', '.join(policies)}\n")

    # Stage 1: what the dense ranking scores a passage by (window policy, granularity).
    dense_table, lexical = {}, {}
    for (s, policy), (queries, qrels) in data.items():
        lexical[s] = score(queries, qrels, lambda q: [d for d, _ in q["lexical"]])
        for g in GRANULARITIES:
            dense_table[(s, policy, g)] = score(
                queries, qrels,
                lambda q: [d for d, _ in sorted(dense_scores(q, g).items(), key=lambda x: -x[1])])
    dense_variants = [(p, g) for p in policies for g in GRANULARITIES]
    print("dense nDCG@10 by window policy and granularity")
    print(f"{'variant':<34}" + "".join(f" {s[:13]:>13}" for s in sets) + f" {'mean':>7}")
    for p, g in dense_variants:
        values = [dense_table[(s, p, g)] for s in sets]
        label = f"{p} {g[0]}{'' if g[1] is None else g[1]}"
        print(f"{label:<34}" + "".join(f" {v:>13.4f}" for v in values) + f" {sum(values) / len(values):>7.4f}")

    def dense_choice(on_sets):
        return max(dense_variants,
                   key=lambda v: sum(dense_table[(s, v[0], v[1])] for s in on_sets) / len(on_sets))

    # Stage 2: fusion over the chosen dense ranking.
    fusion_cache = {}

    def fused(s, p, g, f):
        key = (s, p, g, f)
        if key not in fusion_cache:
            queries, qrels = data[(s, p)]
            fusion_cache[key] = score(queries, qrels, lambda q: fuse(q, g, f))
        return fusion_cache[key]

    def objective(p, g, f, on_sets):
        total = 0.0
        for s in on_sets:
            value = fused(s, p, g, f)
            best_single = max(dense_table[(s, p, g)], lexical[s])
            # A set where the default loses to a single mode costs ten times its loss.
            total += value - 10 * max(0.0, best_single - 0.002 - value)
        return total / len(on_sets)

    print("\nleave-one-set-out: chosen on the other sets, reported on the held-out one (nDCG@10)")
    print(f"{'held out':<16} {'dense':>7} {'lexical':>8} {'before':>7} {'chosen':>7} {'its dense':>9}  chosen on the others")
    for held in sets:
        others = [s for s in sets if s != held]
        p, g = dense_choice(others)
        f = max(FUSIONS, key=lambda f: objective(p, g, f, others))
        before = fused(held, "sentences", BEFORE[0], BEFORE[1])
        print(f"{held:<16} {dense_table[(held, 'sentences', ('window', None))]:>7.4f} {lexical[held]:>8.4f} "
              f"{before:>7.4f} {fused(held, p, g, f):>7.4f} {dense_table[(held, p, g)]:>9.4f}  {p} {name((g, f))}")
    p, g = dense_choice(sets)
    f = max(FUSIONS, key=lambda f: objective(p, g, f, sets))
    print(f"\nchosen on all sets: {p} {name((g, f))}")
    print(f"{'set':<16} {'dense':>7} {'lexical':>8} {'before':>7} {'chosen':>7} {'its dense':>9}")
    for s in sets:
        before = fused(s, "sentences", BEFORE[0], BEFORE[1])
        print(f"{s:<16} {dense_table[(s, 'sentences', ('window', None))]:>7.4f} {lexical[s]:>8.4f} "
              f"{before:>7.4f} {fused(s, p, g, f):>7.4f} {dense_table[(s, p, g)]:>9.4f}")


if __name__ == "__main__":
    main()
