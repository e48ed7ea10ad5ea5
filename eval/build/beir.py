"""Writes a set in the BEIR layout that akapit eval reads (eval/README.md)."""
import json
import os


def write(folder, corpus, queries, judged):
    """corpus: records {"_id", "title", "text"}; queries: (id, text) pairs; judged:
    (query id, corpus id) pairs, each relevant with score 1."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for record in corpus:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    with open(os.path.join(folder, "queries.jsonl"), "w", encoding="utf-8") as f:
        for qid, text in queries:
            f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    with open(os.path.join(folder, "qrels.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, doc in judged:
            f.write(f"{qid}\t{doc}\t1\n")
