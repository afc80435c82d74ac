"""Reference values for monitor/stats from SciPy, statsmodels and scikit-learn.

Reads {"tasks": [{"op": ..., ...}, ...]} as JSON on stdin and writes {"results": [...]} (one result per task, in
order) as JSON on stdout, so a test file needs one Python process for all its comparisons. Every value comes from
the libraries' own functions on the raw data; nothing here reuses the TypeScript implementation's binning or
formulas except where noted (DeLong's variance, which no maintained Python package exposes, is computed from its
definition with an O(m·n) pairwise kernel rather than the midrank algorithm the TypeScript code uses).
"""

import json
import math
import sys

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import confusion_matrix, roc_auc_score
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW


def num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def ks(t):
    a, b = np.asarray(t["reference"], float), np.asarray(t["current"], float)
    # The statistic does not depend on the method; "exact" p-values are slow for large samples and not what the
    # monitor reports, so only the asymptotic one is computed.
    asymp = stats.ks_2samp(a, b, method="asymp")
    return {"statistic": num(asymp.statistic), "pValueAsymp": num(asymp.pvalue)}


def kstwo_sf(t):
    return [num(stats.kstwo.sf(d, n)) for d, n in t["points"]]


def chi2_sf(t):
    return [num(stats.chi2.sf(x, k)) for x, k in t["points"]]


def wasserstein(t):
    a, b = np.asarray(t["reference"], float), np.asarray(t["current"], float)
    raw = stats.wasserstein_distance(a, b)
    return {"raw": num(raw), "normalised": num(raw / max(np.std(a), 0.001)), "refStd": num(np.std(a))}


def evidently_psi(r, c):
    # Evidently's PSI: empty-bin percentages replaced by 0.0001.
    r = np.where(r == 0, 0.0001, r)
    c = np.where(c == 0, 0.0001, c)
    return float(np.sum((c - r) * np.log(c / r)))


def proportion_tests(ref_counts, cur_counts):
    r = np.asarray(ref_counts, float)
    c = np.asarray(cur_counts, float)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    out = {
        "psi": evidently_psi(r / r.sum(), c / c.sum()),
        "js": num(jensenshannon(r / r.sum(), c / c.sum())),
    }
    if len(r) < 2:
        out["chi2"] = {"statistic": 0.0, "pValue": 1.0}
    else:
        res = stats.chi2_contingency(np.vstack([r, c]), correction=False)
        out["chi2"] = {"statistic": num(res.statistic), "pValue": num(res.pvalue)}
    return out


def deciles(t):
    """PSI, JS and chi2 on the reference's deciles (inverted-CDF quantiles, right-closed bins), from raw data."""
    a, b = np.asarray(t["reference"], float), np.asarray(t["current"], float)
    groups = t.get("groups", 10)
    edges = np.unique(np.quantile(a, [k / groups for k in range(1, groups)], method="inverted_cdf"))
    bins = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, a, side="left"), minlength=bins)
    c = np.bincount(np.searchsorted(edges, b, side="left"), minlength=bins)
    return proportion_tests(r, c)


def categorical(t):
    ref, cur = t["reference"], t["current"]
    keys = sorted(set(ref) | set(cur))
    return proportion_tests([ref.get(k, 0) for k in keys], [cur.get(k, 0) for k in keys])


def wilson(t):
    alpha = 1 - t["confidence"]
    return [list(map(num, proportion_confint(s, n, alpha=alpha, method="wilson"))) for s, n in t["points"]]


def binary(t):
    """Horvitz–Thompson weighted proportions at the decision, Kish's effective n, Wilson via statsmodels."""
    pred = np.asarray(t["predicted"], bool)
    truth = np.asarray(t["truth"], bool)
    w = np.asarray(t.get("weights") or [1.0] * len(pred), float)
    alpha = 1 - t["confidence"]
    (tn, fp), (fn, tp) = confusion_matrix(truth, pred, labels=[False, True], sample_weight=w)
    masks = {
        "sensitivity": (truth, tp),
        "specificity": (~truth, tn),
        "ppv": (pred, tp),
        "npv": (~pred, tn),
        "accuracy": (np.ones_like(pred), tp + tn),
    }
    out = {}
    for name, (mask, hits) in masks.items():
        wm = w[mask]
        n = int(mask.sum())
        if n == 0:
            out[name] = {"value": None, "ciLow": None, "ciHigh": None, "n": 0, "nEffective": 0}
            continue
        p = hits / wm.sum()
        n_eff = wm.sum() ** 2 / np.sum(wm**2)
        lo, hi = proportion_confint(p * n_eff, n_eff, alpha=alpha, method="wilson")
        out[name] = {"value": num(p), "ciLow": num(lo), "ciHigh": num(hi), "n": n, "nEffective": num(n_eff)}
    return out


def delong_naive(scores, truth):
    """DeLong, DeLong & Clarke-Pearson (1988) from the definition: structural components by pairwise comparison."""
    x = scores[truth]  # positives
    y = scores[~truth]  # negatives
    psi = (x[:, None] > y[None, :]).astype(float) + 0.5 * (x[:, None] == y[None, :])
    auc = psi.mean()
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    m, n = len(x), len(y)
    s10 = np.var(v10, ddof=1) if m > 1 else 0.0
    s01 = np.var(v01, ddof=1) if n > 1 else 0.0
    return auc, s10 / m + s01 / n


def auroc(t):
    scores = np.asarray(t["scores"], float)
    truth = np.asarray(t["truth"], bool)
    w = t.get("weights")
    auc_sklearn = roc_auc_score(truth, scores, sample_weight=w)
    auc, var = delong_naive(scores, truth)
    z = stats.norm.ppf(1 - (1 - t["confidence"]) / 2)
    se = math.sqrt(var)
    return {
        "value": num(auc_sklearn),
        "valueDefinition": num(auc),
        "variance": num(var),
        "ciLow": num(max(0.0, auc - z * se)),
        "ciHigh": num(min(1.0, auc + z * se)),
    }


def ece_value(scores, truth, bins):
    # scikit-learn's calibration_curve(strategy="uniform") binning: searchsorted(edges[1:-1], p) (side="left").
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], scores)
    total = 0.0
    for b in range(bins):
        m = ids == b
        if m.any():
            total += m.sum() / len(scores) * abs(truth[m].mean() - scores[m].mean())
    return total


def ece(t):
    scores = np.asarray(t["scores"], float)
    truth = np.asarray(t["truth"], float)
    bins = t.get("bins", 10)
    value = ece_value(scores, truth, bins)
    res = stats.bootstrap(
        (scores, truth),
        lambda s, y: ece_value(s, y, bins),
        paired=True,
        vectorized=False,
        n_resamples=t.get("resamples", 2000),
        confidence_level=t["confidence"],
        method="percentile",
        random_state=np.random.default_rng(12345),
    )
    return {"value": num(value), "ciLow": num(res.confidence_interval.low), "ciHigh": num(res.confidence_interval.high)}


def tmean(t):
    x = np.asarray(t["values"], float)
    d = DescrStatsW(x)
    lo, hi = d.tconfint_mean(alpha=1 - t["confidence"])
    return {"value": num(d.mean), "ciLow": num(lo), "ciHigh": num(hi)}


OPS = {
    "ks": ks,
    "kstwo_sf": kstwo_sf,
    "chi2_sf": chi2_sf,
    "wasserstein": wasserstein,
    "deciles": deciles,
    "categorical": categorical,
    "wilson": wilson,
    "binary": binary,
    "auroc": auroc,
    "ece": ece,
    "tmean": tmean,
}


def main():
    request = json.load(sys.stdin)
    results = []
    for task in request["tasks"]:
        try:
            results.append(OPS[task["op"]](task))
        except Exception as exc:  # reported per task so one bad case does not hide the others
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
