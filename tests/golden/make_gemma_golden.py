"""Reference forward pass of google/embeddinggemma-300m in float64 numpy, writing golden values.

Usage: python make_gemma_golden.py MODEL_DIR SENTENCES_TXT OUT_JSON
MODEL_DIR is the Sentence-Transformers folder (config.json, model.safetensors without a `model.`
prefix, tokenizer.json, 2_Dense/, 3_Dense/, README.md). Everything is float64 except the stored
f32 weights, which are read once and widened. It follows HF transformers' Gemma3TextModel with
use_bidirectional_attention=True, followed by the Sentence-Transformers head (mean pool, two Dense
layers, L2 normalisation).
"""
import json
import sys
import time

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
from tokenizers import Tokenizer

QUERY_PROMPT = "task: search result | query: "
DOCUMENT_PROMPT = "title: none | text: "
CARD_QUERY = "Which planet is known as the Red Planet?"
CARD_QUERY_IDS = [2, 8071, 236787, 3927, 1354, 1109, 7609, 236787, 15311, 13401, 563, 3224, 618,
                  506, 4855, 38342, 236881, 1]
CARD_SIMILARITIES = [0.3011, 0.6359, 0.4930, 0.4889]  # printed in the model card (README.md)


def embedding_rows(path, name, ids):
    """Gather rows of one F32 tensor through a memory map (no full load of the 805 MB table)."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(header_len))[name]
    assert meta["dtype"] == "F32"
    start, end = meta["data_offsets"]
    table = np.memmap(path, dtype="<f4", mode="r", offset=8 + header_len + start,
                      shape=tuple(meta["shape"]))
    assert table.nbytes == end - start
    return np.asarray(table[np.asarray(ids)], dtype=np.float64)


def rms_norm(x, w, eps):
    # Gemma RMSNorm: the stored weight is an offset from 1.
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1.0 + w)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def rope(x, theta):
    """HF rotate_half RoPE (non-interleaved halves) over the full head_dim; x: [heads, T, D]."""
    d, t = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.arange(t, dtype=np.float64)[:, None] * inv_freq[None, :]
    cos, sin = np.cos(np.concatenate([angles, angles], -1)), np.sin(np.concatenate([angles, angles], -1))
    rotated = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], axis=-1)
    return x * cos + rotated * sin


class EmbeddingGemma:
    def __init__(self, model_dir):
        self.cfg = cfg = json.load(open(f"{model_dir}/config.json"))
        self.weights_path = f"{model_dir}/model.safetensors"
        # All tensors except the embedding table, widened to float64 (~0.8 GB); the table's rows
        # are gathered per input by embedding_rows.
        with safe_open(self.weights_path, framework="np") as f:
            self.w = {k: f.get_tensor(k).astype(np.float64) for k in f.keys() if k != "embed_tokens.weight"}
        self.dense2 = load_file(f"{model_dir}/2_Dense/model.safetensors")["linear.weight"].astype(np.float64)
        self.dense3 = load_file(f"{model_dir}/3_Dense/model.safetensors")["linear.weight"].astype(np.float64)
        self.tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
        assert cfg["use_bidirectional_attention"] and cfg["hidden_activation"] == "gelu_pytorch_tanh"
        assert cfg["attn_logit_softcapping"] is None and not cfg["attention_bias"]
        # HF's Gemma3TextConfig rewrites sliding_window to sliding_window // 2 + 1 when attention is
        # bidirectional, and the sliding layers then keep key j for query i only when
        # |i - j| < 257, i.e. 256 tokens on each side (HF PR #40700, "intended (SW//2, SW//2)";
        # llama.cpp's symmetric SWA does the same). It is not |i - j| < 512.
        self.window_radius = cfg["sliding_window"] // 2  # 256: allowed iff |i - j| <= 256

    def tokenize(self, text):
        return self.tokenizer.encode(text, add_special_tokens=True).ids  # <bos> ... <eos>

    def attention(self, x, i, full):
        cfg, w, p = self.cfg, self.w, f"layers.{i}.self_attn."
        t, hd, nh, nkv = x.shape[0], cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        q = (x @ w[p + "q_proj.weight"].T).reshape(t, nh, hd).transpose(1, 0, 2)   # [3, T, 256]
        k = (x @ w[p + "k_proj.weight"].T).reshape(t, nkv, hd).transpose(1, 0, 2)  # [1, T, 256]
        v = (x @ w[p + "v_proj.weight"].T).reshape(t, nkv, hd).transpose(1, 0, 2)
        # q_norm / k_norm over head_dim come BEFORE RoPE.
        q, k = rms_norm(q, w[p + "q_norm.weight"], cfg["rms_norm_eps"]), rms_norm(k, w[p + "k_norm.weight"], cfg["rms_norm_eps"])
        theta = cfg["rope_theta"] if full else cfg["rope_local_base_freq"]
        q, k = rope(q, theta), rope(k, theta)
        k, v = np.repeat(k, nh // nkv, axis=0), np.repeat(v, nh // nkv, axis=0)  # GQA: 1 KV head shared
        scores = q @ k.transpose(0, 2, 1) * cfg["query_pre_attn_scalar"] ** -0.5  # [3, T, T]
        if not full:  # bidirectional (no causal mask); sliding layers see a symmetric window
            pos = np.arange(t)
            scores = np.where(np.abs(pos[:, None] - pos[None, :]) <= self.window_radius, scores, -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        out = (probs @ v).transpose(1, 0, 2).reshape(t, nh * hd)
        return out @ w[p + "o_proj.weight"].T

    def embed(self, text):
        """Returns (ids, 768-d unit vector) for a text that already carries its prompt."""
        cfg, w, eps = self.cfg, self.w, self.cfg["rms_norm_eps"]
        ids = self.tokenize(text)
        assert len(ids) <= cfg["max_position_embeddings"]
        x = embedding_rows(self.weights_path, "embed_tokens.weight", ids) * np.sqrt(cfg["hidden_size"])
        for i in range(cfg["num_hidden_layers"]):
            p = f"layers.{i}."
            full = cfg["layer_types"][i] == "full_attention"  # layers 5, 11, 17, 23
            h = x + rms_norm(self.attention(rms_norm(x, w[p + "input_layernorm.weight"], eps), i, full),
                             w[p + "post_attention_layernorm.weight"], eps)
            z = rms_norm(h, w[p + "pre_feedforward_layernorm.weight"], eps)
            mlp = (gelu_tanh(z @ w[p + "mlp.gate_proj.weight"].T) * (z @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
            x = h + rms_norm(mlp, w[p + "post_feedforward_layernorm.weight"], eps)
        x = rms_norm(x, w["norm.weight"], eps)
        pooled = x.mean(axis=0)  # mean over all tokens: <bos>, prompt, text, <eos>
        y = (pooled @ self.dense2.T) @ self.dense3.T  # 768 -> 3072 -> 768, no bias, identity
        return ids, y / np.linalg.norm(y)


def read_sentences(path):
    """Same format as e5_sentences.txt: role<TAB>text, escapes, "@repeat N text"."""
    cases = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        role, text = line.split("\t", 1)
        text = text.replace("\\n", "\n").replace("\\t", "\t").replace("\\u00a0", "\u00a0")
        if text.startswith("@repeat "):
            count, piece = text[len("@repeat "):].split(" ", 1)
            text = " ".join([piece] * int(count))
        cases.append({"role": {"q": "query", "p": "passage"}[role], "text": text})
    return cases


def card_documents(model_dir):
    """The four documents of the model card's usage example, read from README.md."""
    readme = open(f"{model_dir}/README.md", encoding="utf-8").read()
    block = readme[readme.index("documents = [") + len("documents = ["):]
    block = block[: block.index("]")]
    return [json.loads(line.strip().rstrip(",")) for line in block.strip().splitlines()]


def main(model_dir, sentences_path, out_path):
    started = time.time()
    model = EmbeddingGemma(model_dir)
    prompt = {"query": QUERY_PROMPT, "passage": DOCUMENT_PROMPT}

    ids, q = model.embed(QUERY_PROMPT + CARD_QUERY)
    assert ids == CARD_QUERY_IDS, ids
    documents = card_documents(model_dir)
    assert len(documents) == 4 and documents[1].startswith("Mars"), documents
    sims = [float(q @ model.embed(DOCUMENT_PROMPT + d)[1]) for d in documents]
    print("model card similarities:", [round(s, 4) for s in sims], "card:", CARD_SIMILARITIES)
    assert all(abs(a - b) < 0.002 for a, b in zip(sims, CARD_SIMILARITIES)), sims

    cases = read_sentences(sentences_path)
    for c in cases:
        c["ids"], vec = model.embed(prompt[c["role"]] + c["text"])
        c["embedding"] = [round(float(x), 7) for x in vec]
        print(f"{c['role']:7} {len(c['ids']):5} tokens  {c['text'][:50]!r}")
    made_by = ("tests/golden/make_gemma_golden.sh: float64 numpy forward pass "
               "(tests/golden/make_gemma_golden.py) of google/embeddinggemma-300m following HF "
               "Gemma3TextModel with bidirectional attention (sliding layers: |i-j| <= 256), ids from "
               "tokenizer.json via Python tokenizers, prompts included in ids and embeddings")
    out = {"made_by": made_by,
           "model_card": {"query": CARD_QUERY, "documents": documents, "similarities": sims},
           "cases": cases}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out_path} in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
