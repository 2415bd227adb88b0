#!/usr/bin/env python3
"""PyTorch CPU baseline for the Go HHEM/T5 encoder benchmark.

Runs the forward pass of HHEM-2.1-Open (T5ForTokenClassification over
flan-t5-base, encoder only) with random weights of the real dimensions on
one sequence of --tokens tokens, and prints pairs/s, tokens/s and the
process's peak RSS. The encoder is written out by hand (the same math as
Hugging Face's T5 encoder: RMS norm, unscaled attention with a bucketed
relative-position bias, gated-GELU feed-forward) so that only torch is
needed. For benchmarks only; no test depends on it.

Usage: /usr/bin/python3 scripts/bench_hhem_torch.py --tokens 512 --threads 2
"""
import argparse
import math
import resource
import time

import torch


def bucket(rel, num_buckets=32, max_distance=128):
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


class Encoder:
    def __init__(self, vocab=32128, d=768, heads=12, dkv=64, dff=2048, layers=12, labels=2, buckets=32):
        g = torch.Generator().manual_seed(7)

        def lin(out, inp):
            return (torch.rand(out, inp, generator=g) * 2 - 1) * math.sqrt(3.0 / inp)

        self.heads, self.dkv, self.buckets = heads, dkv, buckets
        inner = heads * dkv
        self.embed = torch.rand(vocab, d, generator=g) * 2 - 1
        self.rel = torch.rand(buckets, heads, generator=g) * 2 - 1
        self.layers = []
        for _ in range(layers):
            self.layers.append(dict(
                ln1=1 + 0.2 * (torch.rand(d, generator=g) * 2 - 1),
                q=lin(inner, d), k=lin(inner, d), v=lin(inner, d), o=lin(d, inner),
                ln2=1 + 0.2 * (torch.rand(d, generator=g) * 2 - 1),
                wi0=lin(dff, d), wi1=lin(dff, d), wo=lin(d, dff),
            ))
        self.final = torch.ones(d)
        self.cls_w = lin(labels, d)
        self.cls_b = torch.zeros(labels)

    def params(self):
        n = self.embed.numel() + self.rel.numel() + self.final.numel() + self.cls_w.numel() + self.cls_b.numel()
        return n + sum(t.numel() for l in self.layers for t in l.values())

    def logits(self, ids, last_row_only=False):
        L = ids.shape[0]
        x = self.embed[ids]
        pos = torch.arange(L)
        bias = self.rel[bucket(pos[None, :] - pos[:, None], self.buckets)].permute(2, 0, 1)  # [H, L, L]
        for i, l in enumerate(self.layers):
            last = last_row_only and i == len(self.layers) - 1
            h = rms(x, l["ln1"])
            hq = h[:1] if last else h
            q = (hq @ l["q"].T).view(-1, self.heads, self.dkv).transpose(0, 1)
            k = (h @ l["k"].T).view(L, self.heads, self.dkv).transpose(0, 1)
            v = (h @ l["v"].T).view(L, self.heads, self.dkv).transpose(0, 1)
            s = q @ k.transpose(1, 2) + (bias[:, :1] if last else bias)
            a = torch.softmax(s, dim=-1) @ v
            if last:
                x = x[:1]
            x = x + a.transpose(0, 1).reshape(x.shape[0], -1) @ l["o"].T
            h = rms(x, l["ln2"])
            x = x + (gelu_tanh(h @ l["wi0"].T) * (h @ l["wi1"].T)) @ l["wo"].T
        return rms(x[0], self.final) @ self.cls_w.T + self.cls_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--last-row-only", action="store_true",
                    help="compute the last block for position 0 only, as the Go code does")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with torch.no_grad():
        m = Encoder()
        ids = torch.randint(0, 32128, (a.tokens,))
        m.logits(ids, a.last_row_only)  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.runs):
            m.logits(ids, a.last_row_only)
        sec = (time.perf_counter() - t0) / a.runs
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__} threads={a.threads} params={m.params()} tokens={a.tokens} "
          f"last_row_only={a.last_row_only} sec/pair={sec:.4f} pairs/s={1/sec:.3f} "
          f"tokens/s={a.tokens/sec:.1f} peakRSS_MB={peak_mb:.0f}")


if __name__ == "__main__":
    main()
