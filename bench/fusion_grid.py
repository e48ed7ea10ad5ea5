"""Chooses akapit's ranking defaults by leave-one-corpus-out evaluation, offline.

`akapit eval SET --candidates FILE` writes, per query, the dense candidates (top 100 with the
cosine of their best window and of their mean window vector) and the keyword candidates (top
100 with BM25), and the question's keyword coverage. This script scores every ranking
variant on those files without running a model again:

- window policy: which windows a passage is embedded as (`--windows`; one dump per policy);
- granularity: what the dense ranking scores a passage by: its best window, its mean window
  vector, their max, or a weighted sum;
- fusion: convex (BM25 squashed by bm25/(bm25+half)) or reciprocal-rank, with the keyword
  weight scaled per question by signals that need no judgements: its keyword coverage, how
  much the dense and keyword top tens agree, and how far the best BM25 score stands out from
  the tenth.

All three are chosen together, by the default mode's score, with a heavy penalty on any set
where it falls more than 0.002 below the best single mode (dense under the same windows,
dense as shipped before, or keywords). Sets made from one corpus (gnome-help-pl and -en)
are held out together: for each held-out corpus the variant is chosen on the others and
reported on it. Then the overall default is chosen the same way on all sets.

    python3 bench/fusion_grid.py DUMPS_DIR MODEL [SET...] [--policies P,..] [--granularities G,..]
                                 [--top N]

--policies and --granularities restrict the variants (for example to what akapit ships:
`--policies sentences --granularities window`); --top N also prints the N best variants on
all sets with every set's score.

DUMPS_DIR holds SET.MODEL.POLICY.jsonl files (bench/eval.sh makes them); qrels come from
eval/SET/qrels.tsv.
"""
import argparse
import json
import math
import multiprocessing
import os
import re
import sys

K = 10
# How deep `ask` reads each ranking before fusing for k up to 25 (search::fusion_depth).
# `akapit eval` asks for 100 results and so reads 200 deep, which moves its hybrid scores
# from the ones here by up to 0.004.
DEPTH = 50


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
    dcg = 0.0
    for i, doc in enumerate(ranked[:K]):
        dcg += relevant.get(doc, 0.0) / math.log2(i + 2)
    ideal = sorted(relevant.values(), reverse=True)[:K]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def corpus_of(column):
    """Sets made from one corpus in two languages are one corpus for holding out; so is one
    set under two models (a column is SET or SET@MODEL)."""
    set_name = column.split("@")[0]
    return re.sub(r"-(pl|en)$", "", set_name) if set_name.startswith("gnome-help") else set_name


# --- rankings -------------------------------------------------------------------------

GRANULARITIES = [("window", None), ("mean", None), ("max", None)] + [
    ("mix", a) for a in (0.5, 0.7, 0.85)
]


def dense_ranking(q, granularity):
    kind, alpha = granularity
    scored = []
    for doc, window, mean in q["dense"]:
        if kind == "window":
            s = window
        elif kind == "mean":
            s = mean
        elif kind == "max":
            s = max(window, mean)
        else:  # "mix"
            s = alpha * window + (1 - alpha) * mean
        scored.append((doc, s))
    scored.sort(key=lambda x: -x[1])
    return scored[:DEPTH]


class Prepared:
    """One query under one dense variant: both rankings cut to DEPTH, and its signals."""

    __slots__ = ("relevant", "dense", "lexical", "coverage", "agreement", "standout")

    def __init__(self, q, relevant, granularity):
        self.relevant = relevant
        self.dense = dense_ranking(q, granularity)
        self.lexical = [(d, s) for d, s in q["lexical"][:DEPTH]]
        top_dense = {d for d, _ in self.dense[:K]}
        top_lex = {d for d, _ in self.lexical[:K]}
        self.agreement = len(top_dense & top_lex) / K if top_lex else 0.0
        scores = [s for _, s in self.lexical]
        if len(scores) == 1:
            self.standout = 1.0 if scores[0] > 0 else 0.0  # a lone hit stands out fully
        elif len(scores) >= 2 and scores[0] > 0:
            self.standout = (scores[0] - scores[min(len(scores), K) - 1]) / scores[0]
        else:
            self.standout = 0.0
        self.coverage = q["coverage"]


def fuse(p, fusion):
    method, param, weight, cov_power, agree_power, standout_power = fusion
    w = weight * (p.coverage ** cov_power) * (p.agreement ** agree_power) \
        * (p.standout ** standout_power)
    w = min(max(w, 0.0), 1.0)
    dense_rank = {d: i for i, (d, _) in enumerate(p.dense)}
    fused = {}
    if method == "rrf":
        for i, (d, _) in enumerate(p.dense):
            fused[d] = 1.0 / (param + i + 1)
        for i, (d, _) in enumerate(p.lexical):
            fused[d] = fused.get(d, 0.0) + w / (param + i + 1)
    else:
        floor = p.dense[-1][1] if p.dense else 0.0
        dense = dict(p.dense)
        lexical = dict(p.lexical)
        for d in dense.keys() | lexical.keys():
            bm25 = max(lexical.get(d, 0.0), 0.0)
            fused[d] = (1 - w) * dense.get(d, floor) + w * bm25 / (bm25 + param)
    order = sorted(fused.items(), key=lambda x: (-x[1], dense_rank.get(x[0], 1 << 30), x[0]))
    return [d for d, _ in order]


def mean_ndcg(prepared, rank):
    return sum(ndcg(rank(p), p.relevant) for p in prepared) / max(len(prepared), 1)


FUSIONS = [("convex", half, w, cp, ap, sp)
           for half in (2.0, 5.0, 10.0, 20.0)
           for w in (0.1, 0.2, 0.3, 0.4)
           for cp in (0.0, 1.0, 3.0)
           for ap in (0.0, 0.5, 1.0)
           for sp in (0.0, 1.0, 2.0)] + [
    ("rrf", k, w, cp, ap, sp)
    for k in (20.0, 60.0)
    for w in (0.5, 1.0)
    for cp in (1.0, 3.0)
    for ap in (0.0, 1.0)
    for sp in (0.0, 1.0)]
# The default before these measurements: sentence windows, convex:5:0.3 with coverage^3.
BEFORE = ("sentences", ("window", None), ("convex", 5.0, 0.3, 3.0, 0.0, 0.0))


def name(variant):
    policy, (g, a), (m, p, w, cp, ap, sp) = variant
    gran = g if a is None else f"{g}{a}"
    return f"{policy} {gran} {m}:{p:g}:{w:g} cov^{cp:g} agree^{ap:g} standout^{sp:g}"


def score_dense_variant(job):
    """Every fusion's nDCG@10 on every set, for one (policy, granularity)."""
    dumps, columns, policy, granularity = job
    out = {}
    for s, (set_name, model) in columns.items():
        qrels = read_qrels(os.path.join("eval", set_name, "qrels.tsv"))
        path = os.path.join(dumps, f"{set_name}.{model}.{policy}.jsonl")
        with open(path, encoding="utf-8") as f:
            queries = [json.loads(line) for line in f]
        prepared = [Prepared(q, qrels[q["query_id"]], granularity)
                    for q in queries if q["query_id"] in qrels]
        out[("dense", s)] = mean_ndcg(prepared, lambda p: [d for d, _ in p.dense])
        out[("lexical", s)] = mean_ndcg(prepared, lambda p: [d for d, _ in p.lexical])
        for f in FUSIONS:
            out[(f, s)] = mean_ndcg(prepared, lambda p: fuse(p, f))
    return (policy, granularity), out


def short(model):
    return "gemma" if "gemma" in model else "e5" if "e5" in model else model


def granularity_name(g):
    return g[0] if g[1] is None else f"{g[0]}{g[1]}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dumps")
    parser.add_argument("model")
    parser.add_argument("sets", nargs="*")
    parser.add_argument("--policies")
    parser.add_argument("--granularities")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    dumps, models = args.dumps, args.model.split(",")
    files = [f for f in os.listdir(dumps) if f.endswith(".jsonl") and f.split(".")[1] in models]
    set_names = args.sets or sorted({f.split(".")[0] for f in files})
    # One column per (set, model); with several models each is tagged SET@MODEL.
    columns = {(s if len(models) == 1 else f"{s}@{short(m)}"): (s, m)
               for m in models for s in set_names}
    sets = list(columns)
    policies = sorted({f.split(".")[2] for f in files})
    policies = [p for p in policies
                if all(os.path.exists(os.path.join(dumps, f"{s}.{m}.{p}.jsonl"))
                       for s, m in columns.values())]
    if args.policies:
        policies = [p for p in policies if p in args.policies.split(",")]
    granularities = GRANULARITIES
    if args.granularities:
        granularities = [g for g in GRANULARITIES
                         if granularity_name(g) in args.granularities.split(",")]
    corpora = sorted({corpus_of(s) for s in sets}, key=lambda c: sets.index(
        next(s for s in sets if corpus_of(s) == c)))
    print(f"model {', '.join(models)}; sets {', '.join(sets)}; window policies {', '.join(policies)}; "
          f"{len(FUSIONS)} fusions; rankings read {DEPTH} deep\n")

    jobs = [(dumps, columns, p, g) for p in policies for g in granularities]
    with multiprocessing.Pool(min(2, os.cpu_count() or 1)) as pool:
        table = dict(pool.map(score_dense_variant, jobs))

    lexical = {s: table[(policies[0], granularities[0])][("lexical", s)] for s in sets}
    # The dense ranking as shipped before, and the default before (scored separately when
    # the variants are restricted away from them).
    reference = table.get(("sentences", ("window", None))) or \
        score_dense_variant((dumps, columns, "sentences", ("window", None)))[1]
    shipped_dense = {s: reference[("dense", s)] for s in sets}

    print("dense nDCG@10 by window policy and granularity")
    print(f"{'variant':<32}" + "".join(f" {s[:19]:>19}" for s in sets) + f" {'mean':>7}")
    for (p, g), scores in table.items():
        values = [scores[("dense", s)] for s in sets]
        label = f"{p} {granularity_name(g)}"
        print(f"{label:<32}" + "".join(f" {v:>19.4f}" for v in values)
              + f" {sum(values) / len(values):>7.4f}")
    print(f"{'lexical':<32}" + "".join(f" {lexical[s]:>19.4f}" for s in sets)
          + f" {sum(lexical.values()) / len(sets):>7.4f}")

    variants = [(p, g, f) for (p, g) in table for f in FUSIONS]

    def value(v, s):
        if v == BEFORE:
            return reference[(BEFORE[2], s)]
        return table[(v[0], v[1])][(v[2], s)]

    def floor(v, s):
        """The best single mode the default must not lose to on set s."""
        dense = table[(v[0], v[1])] if (v[0], v[1]) in table else reference
        return max(dense[("dense", s)], shipped_dense[s], lexical[s])

    def objective(v, on_sets):
        total = 0.0
        for s in on_sets:
            x = value(v, s)
            # A set where the default loses to a single mode costs ten times its loss.
            total += x - 10 * max(0.0, floor(v, s) - 0.002 - x)
        return total / len(on_sets)

    def best(on_sets):
        return max(variants, key=lambda v: objective(v, on_sets))

    def row(label, s, v):
        before = value(BEFORE, s)
        return (f"{label:<22} {shipped_dense[s]:>7.4f} {lexical[s]:>8.4f} {before:>7.4f} "
                f"{value(v, s):>7.4f} {(table.get((v[0], v[1])) or reference)[('dense', s)]:>9.4f}")

    print("\nleave-one-corpus-out: chosen on the other corpora, reported on the held-out one "
          "(nDCG@10; dense = sentence windows, as shipped before)")
    print(f"{'held out':<22} {'dense':>7} {'lexical':>8} {'before':>7} {'chosen':>7} "
          f"{'its dense':>9}  chosen on the others")
    held_out = {}
    for corpus in corpora:
        others = [s for s in sets if corpus_of(s) != corpus]
        v = best(others)
        for s in sets:
            if corpus_of(s) == corpus:
                held_out[s] = value(v, s)
                print(row(s, s, v) + f"  {name(v)}")
    n = len(sets)
    print(f"{'mean':<22} {sum(shipped_dense.values()) / n:>7.4f} {sum(lexical.values()) / n:>8.4f} "
          f"{sum(value(BEFORE, s) for s in sets) / n:>7.4f} {sum(held_out.values()) / n:>7.4f}")

    chosen = best(sets)
    print(f"\nchosen on all sets: {name(chosen)}")
    print(f"{'set':<22} {'dense':>7} {'lexical':>8} {'before':>7} {'chosen':>7} {'its dense':>9}")
    for s in sets:
        print(row(s, s, chosen))

    print("\nthe best of each kind on all sets (mean nDCG@10 of the default mode; "
          "worst margin over the best single mode)")
    kinds = {
        "before": [BEFORE],
        "no signals but coverage": [v for v in variants if v[2][4] == 0 and v[2][5] == 0],
        "with agreement": [v for v in variants if v[2][4] > 0],
        "with standout": [v for v in variants if v[2][5] > 0],
        "rrf": [v for v in variants if v[2][0] == "rrf"],
        "sentence windows only": [v for v in variants if v[0] == "sentences"],
        "best window only": [v for v in variants if v[1] == ("window", None)],
    }
    for policy in policies:
        kinds[f"windows {policy}"] = [v for v in variants if v[0] == policy]
    kinds["before"] = [v for v in kinds["before"] if (v[0], v[1]) in table] or [BEFORE]
    for kind, members in kinds.items():
        if not members:
            continue
        v = max(members, key=lambda v: objective(v, sets))
        mean = sum(value(v, s) for s in sets) / n
        margin = min(value(v, s) - floor(v, s) for s in sets)
        print(f"  {kind:<34} {mean:.4f}  {margin:+.4f}  {name(v)}")


    if args.top:
        print(f"\nthe {args.top} best variants on all sets (nDCG@10 of the default mode)")
        print(f"{'variant':<72}" + "".join(f" {s[:19]:>19}" for s in sets) + f" {'mean':>7}")
        for v in sorted(variants, key=lambda v: -objective(v, sets))[:args.top]:
            values = [value(v, s) for s in sets]
            print(f"{name(v):<72}" + "".join(f" {x:>19.4f}" for x in values)
                  + f" {sum(values) / n:>7.4f}")


if __name__ == "__main__":
    main()
