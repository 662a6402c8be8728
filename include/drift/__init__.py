"""Drift analysis of an evaluated batch against the model's reference (SPEC section 3).

- ``domain_classifier``: the global "data drift" (a random forest telling reference from current).
- ``stats/``: one statistic per module (KS, Wasserstein, PSI, chi-square, p-value corrections).
- ``univariate``: per-feature drift on all rows, from a reference profile computed once.
- ``analysis``: everything together, as stored with each evaluation.
- ``report``: the self-contained HTML drift report.
"""
