#!/usr/bin/env python3
"""A hallu `exec` scorer plugin wrapping MiniCheck (documentation example).

Run it with:

    pip install "minicheck @ git+https://github.com/Liyan06/MiniCheck.git@main"
    hallu score --scorer exec \
        --scorer-opt cmd="python3 examples/scorers/minicheck_wrapper.py --model roberta-large" \
        --in generations.jsonl --out judgments.jsonl

Protocol (one JSON object per line; see docs/scorers.md):
    stdin:  {"id": "...", "source": "...", "summary": "..."}
    stdout: {"id": "...", "score": 0.93, "explanation": "..."}
        or: {"id": "...", "error": "why this pair cannot be scored"}

Rules a plugin must keep:
  * load the model once, before reading stdin;
  * answer every line, in order, with the same id, before reading the next;
  * print nothing else on stdout: logs, warnings and progress bars go to
    stderr (hallu keeps the last lines of stderr for its error messages);
  * flush stdout after each reply.

To wrap AlignScore instead, replace load() and score(): AlignScore's
scorer.score(contexts=[source], claims=[summary]) returns the consistency
probability the same way.
"""
import argparse
import contextlib
import json
import sys


def load(model_name):
    # Libraries print download progress and warnings on stdout; keep them
    # off the protocol channel.
    with contextlib.redirect_stdout(sys.stderr):
        from minicheck.minicheck import MiniCheck
        return MiniCheck(model_name=model_name, cache_dir="./ckpts")


def score(checker, source, summary):
    with contextlib.redirect_stdout(sys.stderr):
        labels, probs, _, _ = checker.score(docs=[source], claims=[summary])
    return float(probs[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="roberta-large",
                    help="MiniCheck model: roberta-large, deberta-v3-large, flan-t5-large, Bespoke-MiniCheck-7B")
    args = ap.parse_args()
    checker = load(args.model)
    print(f"minicheck {args.model} loaded", file=sys.stderr, flush=True)

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        reply = {"id": req["id"]}
        try:
            p = score(checker, req["source"], req["summary"])
            reply["score"] = min(1.0, max(0.0, p))
            reply["explanation"] = f"MiniCheck-{args.model} P(supported)={p:.3f}"
        except Exception as e:  # one bad pair must not end the process
            reply["error"] = f"{type(e).__name__}: {e}"
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
