"""Exports akapit's own multilingual-e5-small folder (config.json, model.safetensors: the
weights akapit loads) to ONNX for bench/onnx_bench.py, offline, from the folder only.

  onnx_export.py MODEL_DIR OUT_DIR   -> OUT_DIR/model.onnx (f32), OUT_DIR/model-int8.onnx

model.onnx: inputs input_ids, attention_mask [batch, seq] int64; output last_hidden_state
[batch, seq, 384] (pooling is the caller's). model-int8.onnx: the same graph through ORT's
transformer optimizer (Attention, SkipLayerNorm, ... fused, so that quantisation finds
QAttention) and then quantize_dynamic: per-channel 8-bit weights, uint8 weights (U8U8),
which ORT's quantisation guide says to try first on AVX2; U8S8 would need reduce_range
(7-bit weights) against VPMADDUBSW saturation there.
"""
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # never look anything up: the folder is all there is

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from onnxruntime.transformers.optimizer import optimize_model
from transformers import XLMRobertaModel

OPSET = 17


class LastHidden(torch.nn.Module):
    """The encoder with a plain tensor output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    # No pooler: e5 mean-pools, and akapit's folder has no pooler weights.
    model, info = XLMRobertaModel.from_pretrained(
        model_dir, add_pooling_layer=False, dtype=torch.float32,
        attn_implementation="eager", output_loading_info=True)
    unused = [*info["missing_keys"], *info["unexpected_keys"]]
    assert not unused, f"weights not matched one to one: {unused}"
    model.eval()
    # A padded row, so that the attention mask's path is the one traced (with no padding
    # transformers may skip the mask, and the trace would keep that).
    ids = torch.tensor([[0, 1294, 12, 3034, 2], [0, 1294, 12, 2, 1]], dtype=torch.int64)
    mask = (ids != 1).to(torch.int64)
    axes = {0: "batch", 1: "seq"}
    f32 = os.path.join(out, "model.onnx")
    with torch.no_grad():
        # The TorchScript exporter (dynamo=False), as optimum uses: its attention is the
        # pattern ORT's transformer optimizer fuses; the dynamo exporter's is not (yet).
        torch.onnx.export(
            LastHidden(model).eval(), (ids, mask), f32, input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes})

    fused = os.path.join(out, "model-fused.onnx")
    optimized = optimize_model(f32, model_type="bert", num_heads=12, hidden_size=384, opt_level=0)
    fused_ops = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(fused)
    # ORT's pre-processing (symbolic shape inference, which knows the fused contrib ops):
    # the quantiser needs the types of their outputs.
    prepared = os.path.join(out, "model-prepared.onnx")
    quant_pre_process(fused, prepared, skip_optimization=True)
    int8 = os.path.join(out, "model-int8.onnx")
    quantize_dynamic(prepared, int8, per_channel=True, weight_type=QuantType.QUInt8)
    os.remove(fused)
    os.remove(prepared)

    # The f32 file must give what torch gives, on shapes other than the traced ones (the
    # int8 file is checked by onnx_bench.py's `fidelity` mode).
    torch.manual_seed(0)
    ids = torch.randint(5, 250000, (3, 40))
    ids[:, 0], ids[0, 39], ids[1, 20], ids[1, 21:], ids[2, 7], ids[2, 8:] = 0, 2, 2, 1, 2, 1
    mask = (ids != 1).to(torch.int64)
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = ort.InferenceSession(f32, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    real = mask.numpy().astype(bool)
    print(f"onnx_export: opset {OPSET}, torch {torch.__version__}, onnxruntime {ort.__version__}; "
          f"fused {fused_ops}; max |ORT f32 - torch| = {np.abs(got - expected)[real].max():.2e}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
