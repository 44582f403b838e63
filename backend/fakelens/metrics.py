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
    _, first, count = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (count - 1) / 2 + 1, count)   # tied scores share their mean rank
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


def _bootstrap(labels: np.ndarray, statistic, level: float, rounds: int, seed: int) -> tuple[float, float]:
    """Percentile interval of statistic(idx) over draws that resample reals and fakes apart (each
    keeps its count)."""
    real, fake = np.nonzero(~labels)[0], np.nonzero(labels)[0]
    rng = np.random.default_rng(seed)
    draws = [statistic(np.r_[rng.choice(real, len(real)), rng.choice(fake, len(fake))]) for _ in range(rounds)]
    lo, hi = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def auc_interval(labels, scores, level: float = 0.95, rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, so a small evaluation set shows how little its AUC
    pins down. (nan, nan) without both classes."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    if labels.all() or not labels.any():
        return float("nan"), float("nan")
    return _bootstrap(labels, lambda idx: auc(labels[idx], scores[idx]), level, rounds, seed)


def auc_difference_interval(labels, scores_a, scores_b, level: float = 0.95, rounds: int = 2000,
                            seed: int = 0) -> tuple[float, float, float]:
    """(AUC of b minus AUC of a, and its percentile bootstrap interval), two models scored on the same
    items: each round scores both models on the same draw, so what the items have in common cancels
    out."""
    labels = np.asarray(labels).astype(bool)
    a, b = np.asarray(scores_a, np.float64), np.asarray(scores_b, np.float64)
    if labels.all() or not labels.any():
        return float("nan"), float("nan"), float("nan")
    lo, hi = _bootstrap(labels, lambda idx: auc(labels[idx], b[idx]) - auc(labels[idx], a[idx]), level, rounds, seed)
    return auc(labels, b) - auc(labels, a), lo, hi
