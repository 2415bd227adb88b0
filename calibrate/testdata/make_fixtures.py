#!/usr/bin/python3
"""Writes metrics_fixture.json: scorer metrics computed by scikit-learn, so
the Go implementation in calibrate/metrics.go is checked against an
independent one. CI does not run this; rerun it (Debian: apt-get install
python3-sklearn) only to change the cases, and commit the output.

Labels: 1 = consistent, 0 = hallucinated. A score >= threshold predicts
consistent; precision, recall and F1 are for the hallucinated class.
"""
import json
import random

from sklearn.metrics import (balanced_accuracy_score, f1_score,
                             precision_score, recall_score, roc_auc_score,
                             roc_curve)


def case(name, scores, labels, threshold=0.5):
    pred = [1 if s >= threshold else 0 for s in scores]
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    best = max((t + 1 - f) / 2 for f, t in zip(fpr, tpr))
    return {
        "name": name, "threshold": threshold, "scores": scores, "labels": labels,
        "balanced_accuracy": balanced_accuracy_score(labels, pred),
        "precision": precision_score(labels, pred, pos_label=0, zero_division=0),
        "recall": recall_score(labels, pred, pos_label=0),
        "f1": f1_score(labels, pred, pos_label=0, zero_division=0),
        "auroc": roc_auc_score(labels, scores),
        "best_balanced_accuracy": best,
    }


def noisy(rng, n, p_consistent, spread, digits):
    labels = [1 if rng.random() < p_consistent else 0 for _ in range(n)]
    scores = []
    for y in labels:
        s = rng.gauss(0.65 if y else 0.35, spread)
        scores.append(round(min(1.0, max(0.0, s)), digits))
    return scores, labels


rng = random.Random(20250301)
cases = [case("hand", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])]
s, l = noisy(rng, 200, 0.5, 0.2, 2)
cases.append(case("random200-ties", s, l))
s, l = noisy(rng, 57, 0.6, 0.3, 0)
cases.append(case("coarse-0-1", [x / 4 * 4 for x in s], l))
s, l = noisy(rng, 60, 0.5, 0.25, 1)
cases.append(case("quarter-steps", [round(x * 4) / 4 for x in s], l))
s, l = noisy(rng, 100, 0.9, 0.2, 3)
cases.append(case("imbalanced", s, l))
cases.append(case("threshold-0.7", s, l, 0.7))
s, l = noisy(rng, 80, 0.5, 0.1, 3)
cases.append(case("inverted", [1 - x for x in s], l))

with open("metrics_fixture.json", "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
