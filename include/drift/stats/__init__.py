"""Drift statistics, one per module, each a pure function on already-sorted or counted data.

Numeric statistics take sorted float64 arrays of finite values (the caller drops NaN and ±inf and
sorts each column once); categorical ones take counts.

- ``ks``: two-sample Kolmogorov–Smirnov test (statistic and p-value).
- ``wasserstein``: Wasserstein-1 (earth mover's) distance.
- ``psi``: population stability index, on given shares or on the reference's deciles.
- ``chi_square``: Pearson chi-square test of homogeneity on counts.
- ``corrections``: multiple-testing corrections of p-values.
- ``proportions``: two-proportion test and Cohen's h (a change of the missing share).
- ``jensen_shannon``: Jensen–Shannon distance between category distributions.
- ``ecdf`` and ``binning``: the merged empirical CDFs and the bins the statistics read.
"""
