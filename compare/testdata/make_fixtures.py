#!/usr/bin/python3
"""Writes fixtures.json: reference values for hallu's compare and stats tests,
computed independently of the Go code with scipy and statsmodels.

Run with Debian's python3 (apt-get install python3-scipy python3-statsmodels):

    /usr/bin/python3 compare/testdata/make_fixtures.py

The output is committed, so the Go tests need no Python.
"""
import json
import os
import random

import scipy
import statsmodels
from scipy.stats import binom, binomtest
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(os.path.abspath(__file__))


def mcnemar(b, c):
    # McNemar's exact test is the two-sided binomial test of b in b+c at 1/2.
    # scipy refuses n = 0; with no discordant pair the test has no evidence,
    # p = 1 by definition.
    if b + c == 0:
        return 1.0
    return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def wilson(k, n):
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return [float(lo), float(hi)]


MCNEMAR_CASES = [
    (0, 0), (0, 1), (1, 0), (0, 5), (0, 6), (6, 0), (1, 9), (3, 3), (4, 5),
    (10, 20), (20, 10), (50, 80), (33, 0), (500, 600), (0, 1000),
    (12000, 12500), (2, 98), (40, 61),
]

WILSON_CASES = [
    (0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (1, 200), (31, 62),
    (57, 62), (334, 5205), (999, 1000), (50000, 100000), (7, 13),
]

BINOM_CASES = [(20, 0.3), (7, 0.5), (100, 0.02)]


def synthetic_comparison():
    """Two models over 140 documents, most shared, with every kind of
    outcome: the Go test writes these as hallu records and compares them."""
    rng = random.Random(20240604)
    docs = []
    for i in range(140):
        doc = {"id": "doc-%03d" % i}
        base_bad = rng.random() < 0.12
        # The candidate mostly repeats the baseline's verdict on a document
        # and otherwise hallucinates more often: a real regression.
        cand_bad = base_bad if rng.random() < 0.7 else rng.random() < 0.45
        for side, p_invalid, bad in (("base", 0.04, base_bad), ("cand", 0.08, cand_bad)):
            if (side == "base" and i >= 134) or (side == "cand" and 128 <= i < 131):
                doc[side] = None  # absent from this side
                continue
            r = rng.random()
            if r < p_invalid / 2:
                doc[side] = {"state": "error"}
            elif r < p_invalid:
                doc[side] = {"state": "refusal"}
            elif rng.random() < 0.03:
                doc[side] = {"state": "unscored"}
            else:
                score = rng.uniform(0.01, 0.49) if bad else rng.uniform(0.5, 0.99)
                doc[side] = {"state": "scored", "score": round(score, 4)}
        docs.append(doc)

    shared = [d for d in docs if d["base"] is not None and d["cand"] is not None]
    only_base = sum(1 for d in docs if d["base"] is not None and d["cand"] is None)
    only_cand = sum(1 for d in docs if d["cand"] is not None and d["base"] is None)

    def valid(o):
        return o["state"] in ("scored", "unscored")

    def hall(o):
        return o["score"] < 0.5

    out = {"docs": docs, "shared": len(shared), "only_base": only_base, "only_cand": only_cand}
    for side in ("base", "cand"):
        v = sum(valid(d[side]) for d in shared)
        judged = [d[side] for d in shared if d[side]["state"] == "scored"]
        h = sum(hall(o) for o in judged)
        out[side] = {
            "valid": v, "judged": len(judged), "hallucinated": h,
            "hr": 100.0 * h / len(judged), "hr_wilson": [100 * x for x in wilson(h, len(judged))],
            "ar": 100.0 * v / len(shared), "ar_wilson": [100 * x for x in wilson(v, len(shared))],
        }
    paired = [d for d in shared if d["base"]["state"] == "scored" and d["cand"]["state"] == "scored"]
    b = sum(1 for d in paired if not hall(d["base"]) and hall(d["cand"]))
    c = sum(1 for d in paired if hall(d["base"]) and not hall(d["cand"]))
    lost = sum(1 for d in shared if valid(d["base"]) and not valid(d["cand"]))
    gained = sum(1 for d in shared if not valid(d["base"]) and valid(d["cand"]))
    out.update({
        "paired": len(paired), "to_hallucinated": b, "to_consistent": c,
        "hr_diff_pp": 100.0 * (b - c) / len(paired), "hr_p": mcnemar(b, c),
        "lost_answers": lost, "gained_answers": gained,
        "ar_diff_pp": 100.0 * (gained - lost) / len(shared), "ar_p": mcnemar(gained, lost),
        "flipped": sorted(d["id"] for d in paired if not hall(d["base"]) and hall(d["cand"])),
    })
    return out


def main():
    fixtures = {
        "generator": "compare/testdata/make_fixtures.py with scipy %s, statsmodels %s"
        % (scipy.__version__, statsmodels.__version__),
        "mcnemar": [{"b": b, "c": c, "p": mcnemar(b, c)} for b, c in MCNEMAR_CASES],
        "wilson": [{"k": k, "n": n, "ci": wilson(k, n)} for k, n in WILSON_CASES],
        "binomial_pmf": [
            {"n": n, "p": p, "pmf": [float(x) for x in binom.pmf(range(n + 1), n, p)]}
            for n, p in BINOM_CASES
        ],
        "comparison": synthetic_comparison(),
    }
    path = os.path.join(HERE, "fixtures.json")
    with open(path, "w") as f:
        json.dump(fixtures, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
