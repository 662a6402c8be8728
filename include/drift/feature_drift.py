"""The drift of one feature between the reference and a batch, as the analysis stores it.

Built by :mod:`include.drift.univariate` (all rows in memory) and :mod:`include.streaming.drift`
(from summaries); ``to_dict`` is its JSON form in the stored analysis.
"""

from __future__ import annotations

from typing import Any, Literal

from include.json_records import JsonFloat, JsonRecord, json_record


@json_record(kw_only=True)
class FeatureDrift(JsonRecord):
    """The drift of one feature between the reference and the current batch.

    Numeric features fill ``ks_statistic``/``ks_pvalue`` (small p = drift), ``wasserstein``
    (feature units, large = drift) and ``psi`` over the reference deciles, on finite values;
    ``*_infinite`` count the ±inf values left out. Categorical features fill
    ``chi2_statistic``/``chi2_pvalue``/``chi2_dof``, ``psi`` and the Jensen–Shannon distance
    over grouped categories (rare ones ``(other)``, unseen ones ``(new)``), and list
    ``new_categories`` (in the batch, not in the reference; most frequent first, at most 100 of
    ``new_category_count``; ``new_share`` is their share of the batch) and
    ``vanished_categories`` (at most 100). A statistic that cannot be computed (no finite value
    on a side) is None and ``note`` says why.

    The flag (:mod:`include.drift.rule`): ``effect_size`` is the Wasserstein distance over the
    reference's spread (numeric, ``effect_size_measure`` says which spread) or the
    Jensen–Shannon distance (categorical); ``pvalue_adjusted`` the distribution test's p-value
    after the multiple-testing correction. ``pvalue_drifted``: adjusted p ≤ alpha (significant);
    ``material``: effect size ≥ its threshold, None when ``effect_size_trusted`` is false (a
    side too small for the effect size to mean anything: ``flag_basis`` then says
    "significance alone" and ``note`` why); ``distribution_drifted``: significant and, when
    trusted, material. The missing share: ``missing_share_change`` (current − reference),
    ``missing_effect_size`` (Cohen's h), ``missing_pvalue`` and ``missing_pvalue_adjusted``,
    ``missing_drifted`` by the same rule. ``drifted``: the distribution or the missing share
    drifted. ``psi_drifted`` (PSI > ``psi_threshold``) is reported but flags nothing by itself.

    ``histogram`` compares the shares of reference and current. Numeric: ``edges`` (23 values,
    the first −inf and the last +inf: the outer bins are open; bins closed on the right),
    ``reference`` and ``current`` (22 shares of the finite values; ``current`` None without
    any). Categorical: ``categories`` (the at most 20 with the largest reference + current share,
    then ``(others)`` when some are left out), ``reference`` and ``current`` (shares of all
    rows). ``to_dict`` gives JSON-ready values: lists, plain floats, None for NaN and ±inf.
    """

    feature: str
    kind: Literal["numeric", "categorical"]
    reference_rows: int
    current_rows: int
    reference_missing_share: JsonFloat
    current_missing_share: JsonFloat
    reference_infinite: int | None = None
    current_infinite: int | None = None
    ks_statistic: JsonFloat | None = None
    ks_pvalue: JsonFloat | None = None
    wasserstein: JsonFloat | None = None
    psi: JsonFloat | None = None
    chi2_statistic: JsonFloat | None = None
    chi2_pvalue: JsonFloat | None = None
    chi2_dof: int | None = None
    jensen_shannon: JsonFloat | None = None
    pvalue_adjusted: JsonFloat | None = None
    effect_size: JsonFloat | None = None
    effect_size_measure: str | None = None
    effect_size_trusted: bool = True
    missing_share_change: JsonFloat = 0.0
    missing_effect_size: JsonFloat = 0.0
    missing_pvalue: JsonFloat | None = None
    missing_pvalue_adjusted: JsonFloat | None = None
    new_categories: tuple[str, ...] = ()
    new_category_count: int = 0
    new_share: JsonFloat | None = None
    vanished_categories: tuple[str, ...] = ()
    pvalue_drifted: bool = False
    material: bool | None = None
    distribution_drifted: bool = False
    missing_drifted: bool = False
    psi_drifted: bool = False
    drifted: bool = False
    flag_basis: str | None = None
    histogram: dict[str, Any] | None = None
    note: str | None = None

    @property
    def pvalue(self) -> float | None:
        """The raw p-value of the feature's test (KS or chi-square), before any correction."""
        return self.ks_pvalue if self.kind == "numeric" else self.chi2_pvalue

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (``model_dump(mode="json")``, under the name its
        callers and tests use)."""
        return self.model_dump(mode="json")
