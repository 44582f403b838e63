"""Ranking metrics shared by `fakelens eval`, the training command and the model report.

NumPy only, so the trainer can import them on a machine without the backend's other packages.
"""

import numpy as np


def auc(labels, scores) -> float:
    """Area under the ROC curve: the chance a random fake outscores a random real (ties count half)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), from (0, 0) to (1, 1); a point per distinct score."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    thresholds = np.unique(scores)[::-1]
    tpr = [(scores[labels] >= t).mean() for t in thresholds]
    fpr = [(scores[~labels] >= t).mean() for t in thresholds]
    return (np.array([0.0] + fpr + [1.0]), np.array([0.0] + tpr + [1.0]),
            np.concatenate([[np.inf], thresholds, [-np.inf]]))


def recall_at_fpr(labels, scores, max_fpr: float = 0.05) -> tuple[float, float]:
    """(recall, threshold): the most fakes caught while at most `max_fpr` of the reals are flagged."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    reals = np.sort(scores[~labels])[::-1]
    allowed = int(np.floor(max_fpr * len(reals)))          # reals allowed at or above the threshold
    # the threshold sits just above the (allowed+1)-th highest real score
    threshold = np.nextafter(reals[allowed], np.inf) if allowed < len(reals) else -np.inf
    return float((scores[labels] >= threshold).mean()), float(threshold)
