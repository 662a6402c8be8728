"""Streaming evaluation: a batch too large for memory, in bounded memory, also across tasks.

An in-memory evaluation reads a whole batch into pandas, so its memory grows with the batch.
Streaming evaluation reads a batch in chunks and keeps only statistics that merge: memory stays
bounded, and a batch split into partitions (slices of days) can be summarised by separate Airflow
tasks whose partial results a final task merges into one evaluation. Each statistic has
``update`` (a chunk), ``merge`` (associative and commutative: exactly for counts, up to rounding
for sums of floats) and ``to_dict``/``from_dict`` (JSON-safe, to travel between tasks):

- :mod:`~include.streaming.scores`: scores and labels per fine score bin; the confusion matrix at
  the threshold exactly, the ROC AUC within a bound computed from the summary.
- :mod:`~include.streaming.columns`: per-feature counts on the reference's quantile edges,
  moments, a KLL quantile sketch and an HLL distinct-count sketch; exact counts per category.
- :mod:`~include.streaming.comparisons`: the decile PSI (exact), the KS statistic and the
  Wasserstein distance (within stated bounds) from a reference and a current summary.
- :mod:`~include.streaming.reservoir`: a uniform sample of fixed size, merged exactly.
- :mod:`~include.streaming.quality`: the quality gate's counts; the same report as
  ``validate_batch``, exactly, without Great Expectations.
- :mod:`~include.streaming.encoding`: how arrays travel inside the JSON documents.

From a merged summary, the parts of an evaluation, each the same record as in memory, exact or
within a stated bound: :mod:`~include.streaming.performance` (realised metrics),
:mod:`~include.streaming.estimate` (the estimate without labels), :mod:`~include.streaming.drift`
(univariate and prediction drift, with the flags the bounds leave in doubt),
:mod:`~include.streaming.statistics` (column statistics), and
:mod:`~include.streaming.evaluate`, which assembles them (with the domain classifier on the
sample) into an ``Evaluation``.

:mod:`~include.streaming.partition` reads a partition of a batch from its row source chunk by
chunk (``RowSource.chunks``), scores and summarises it, saves, loads and merges summaries;
:mod:`~include.streaming.batch` decides, as ``workflow.evaluate_period`` reads a batch, whether
it is small enough for the exact in-memory path (``streaming.memory_rows``) or streams.

Libraries: each chunk arrives as a pandas frame (from pyarrow's dataset scanner or a database
cursor), and the per-chunk work is a sort, a ``searchsorted`` and a ``bincount`` in NumPy, the
same functions as the exact in-memory path, so both paths bin values identically. DuckDB and
Polars are not used: their histograms would add an engine for what NumPy does in one call per
chunk, and their approximate quantiles (DuckDB's t-digest ``approx_quantile``) state no rank
error and keep no state that one task can serialise and another merge. Apache DataSketches'
KLL sketch (``datasketches``) does both, with an error bound proven and documented.
"""
