#!/usr/bin/env python3
"""PyTorch side of `make bench-hhem`: HHEM's T5 encoder classifier on the
random weights that `hhembench gen` wrote, as a benchmark worker or as the
source of the ONNX graph that ONNX Runtime runs.

The encoder is written out by hand (the math of Hugging Face's T5 encoder:
RMS norm, unscaled attention with a bucketed relative-position bias,
gated-GELU feed-forward) so that only Debian's python3-torch is needed. As
hallu does, the last block computes position 0 only, whose logits are the
score. A pass takes ids [batch, tokens] (a request's pairs all have one
length, so no padding) and returns logits [batch, 2].

  bench_hhem_torch.py worker DIR     serve passes (protocol: hhembench's package comment)
  bench_hhem_torch.py export DIR     write DIR/model-batch.onnx (opset 14, dynamic batch and length)

The export's file name carries its format: model.onnx, from before
batching, took one 1-D sequence and is no longer read.

Threads: BENCH_THREADS (default 1).
"""
import json
import math
import os
import resource
import struct
import sys
import time

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(data, dtype=torch.float32, offset=a, count=(b - a) // 4).reshape(info["shape"])
    return out


def bucket(rel, num_buckets=32, max_distance=128):
    # T5's bidirectional bucketing of key−query distances.
    half = num_buckets // 2
    out = (rel > 0).to(torch.long) * half
    n = rel.abs()
    exact = half // 2
    large = exact + (
        torch.log(n.float().clamp(min=1) / exact) / math.log(max_distance / exact) * (half - exact)
    ).to(torch.long)
    large = torch.clamp(large, max=half - 1)
    return out + torch.where(n < exact, n, large)


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class HHEM(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        p = "t5.transformer."
        self.embed = w[p + "shared.weight"]
        self.rel = w[p + "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        self.buckets, self.heads = self.rel.shape
        self.final = w[p + "encoder.final_layer_norm.weight"]
        self.cls_w, self.cls_b = w["t5.classifier.weight"], w["t5.classifier.bias"]
        self.layers = []
        i = 0
        while f"{p}encoder.block.{i}.layer.0.layer_norm.weight" in w:
            b = f"{p}encoder.block.{i}.layer."
            a, f = b + "0.SelfAttention.", b + "1.DenseReluDense."
            self.layers.append(dict(
                ln1=w[b + "0.layer_norm.weight"], ln2=w[b + "1.layer_norm.weight"],
                q=w[a + "q.weight"].T.contiguous(), k=w[a + "k.weight"].T.contiguous(),
                v=w[a + "v.weight"].T.contiguous(), o=w[a + "o.weight"].T.contiguous(),
                wi0=w[f + "wi_0.weight"].T.contiguous(), wi1=w[f + "wi_1.weight"].T.contiguous(),
                wo=w[f + "wo.weight"].T.contiguous()))
            i += 1
        self.dkv = self.layers[0]["q"].shape[1] // self.heads

    def forward(self, ids):
        B, L = ids.shape
        x = self.embed[ids]  # [B, L, d]
        pos = torch.arange(L)
        bias = self.rel[bucket(pos[None, :] - pos[:, None], self.buckets)].permute(2, 0, 1)  # [H, L, L]
        for i, l in enumerate(self.layers):
            last = i == len(self.layers) - 1
            h = rms(x, l["ln1"])
            hq = h[:, :1] if last else h
            q = (hq @ l["q"]).reshape(B, -1, self.heads, self.dkv).transpose(1, 2)  # [B, H, Lq, dkv]
            k = (h @ l["k"]).reshape(B, -1, self.heads, self.dkv).transpose(1, 2)
            v = (h @ l["v"]).reshape(B, -1, self.heads, self.dkv).transpose(1, 2)
            s = q @ k.transpose(2, 3) + (bias[:, :1] if last else bias)
            a = torch.softmax(s, dim=-1) @ v
            if last:
                x = x[:, :1]
            x = x + a.transpose(1, 2).reshape(B, x.shape[1], -1) @ l["o"]
            h = rms(x, l["ln2"])
            x = x + (gelu_tanh(h @ l["wi0"]) * (h @ l["wi1"])) @ l["wo"]
        return rms(x[:, 0], self.final) @ self.cls_w.T + self.cls_b  # [B, 2]


def score(logits):
    # softmax(logits)[1], as the logistic of the logit difference.
    return 1.0 / (1.0 + math.exp(float(logits[0] - logits[1])))


def main():
    mode, d = sys.argv[1], sys.argv[2]
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    torch.set_num_threads(threads)
    m = HHEM(load_safetensors(os.path.join(d, "model.safetensors")))
    if mode == "export":
        # Traced at batch 2 so that no size of 1 is baked into the graph.
        ids = torch.arange(100, 228).reshape(2, 64)
        out = os.path.join(d, "model-batch.onnx")
        torch.onnx.export(m, (ids,), out + ".tmp", input_names=["ids"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}},
                          opset_version=14)
        os.replace(out + ".tmp", out)
        return
    print(f"ready", flush=True)
    print(f"torch {torch.__version__}, {threads} thread(s)", file=sys.stderr, flush=True)
    with torch.no_grad():
        for line in sys.stdin:
            if line.strip() == "rss":
                print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", flush=True)
                continue
            pairs = [[int(t) for t in p.split()] for p in line.split("|")]
            ids = torch.tensor(pairs, dtype=torch.long)  # fails unless all have one length
            t0 = time.perf_counter()
            logits = m(ids)
            sec = time.perf_counter() - t0
            print(f"{sec:.6f} " + " ".join(f"{score(l):.9f}" for l in logits), flush=True)


if __name__ == "__main__":
    main()
