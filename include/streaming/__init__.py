"""Mergeable summaries of a batch: the first building block of streaming evaluation (issue 14).

Today an evaluation reads a whole batch into pandas, so its memory grows with the batch.
Streaming evaluation reads a batch in chunks and keeps only statistics that merge: memory stays
bounded, and a batch split into partitions (files, row groups, date slices) can be summarised by
separate Airflow tasks whose partial results a final task merges into one evaluation. This
package holds those statistics, each with ``update`` (a chunk), ``merge`` (associative and
commutative: exactly for counts, up to rounding for sums of floats) and, where it travels between
tasks, ``to_dict``/``from_dict`` (JSON-safe):

- :mod:`~include.streaming.scores`: scores and labels per fine score bin; the confusion matrix at
  the threshold exactly, the ROC AUC within a bound computed from the summary.
- :mod:`~include.streaming.columns`: per-feature counts on the reference's quantile edges,
  moments and a KLL quantile sketch; exact counts per category.
- :mod:`~include.streaming.comparisons`: the decile PSI (exact), the KS statistic and the
  Wasserstein distance (within stated bounds) from a reference and a current summary.
- :mod:`~include.streaming.reservoir`: a uniform sample of fixed size, merged exactly.
- :mod:`~include.streaming.encoding`: how arrays travel inside the JSON documents.
- :mod:`~include.streaming.performance`: the realised performance metrics of a merged score
  summary, the same ``PerformanceMetrics`` as ``binary_metrics``, exact or within stated bounds.
- :mod:`~include.streaming.drift`: the per-feature drift (``FeatureDrift``, as
  ``univariate_drift``) of a batch's summaries against the reference profile, exact or within
  stated bounds, with the flags the bounds leave in doubt.
- :mod:`~include.streaming.partition`: one partition of a batch (a slice of its days) read from
  its row source chunk by chunk (``RowSource.chunks``), scored and summarised; the partitions'
  summaries saved to a folder, loaded and merged.

Nothing here is used by ``evaluate_quarter`` yet: what is left is the rest of the evaluation of a
merged summary (the domain classifier on the sample, prediction drift, column statistics, the
estimate, the quality gate), the reference profile built the same way, the mapped tasks, and the
choice between this path and the in-memory one.

Libraries: each chunk arrives as a pandas frame (from pyarrow's dataset scanner or a database
cursor), and the per-chunk work is a sort, a ``searchsorted`` and a ``bincount`` in NumPy, the
same functions as the exact in-memory path, so both paths bin values identically. DuckDB and
Polars are not used: their histograms would add an engine for what NumPy does in one call per
chunk, and their approximate quantiles (DuckDB's t-digest ``approx_quantile``) state no rank
error and keep no state that one task can serialise and another merge. Apache DataSketches'
KLL sketch (``datasketches``) does both, with an error bound proven and documented.
"""
