"""A batch summarised partition by partition, chunk by chunk, and the partitions merged.

On the tutorial's data and model (a quarter of 3,000 transactions, an SQLite MES): the quarter cut
into three slices of days, each summarised from small chunks, merged, equals the quarter
summarised in one pass, and agrees with the in-memory evaluation of the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.drift.columns import count_categories
from include.errors import ConfigurationError, DataValidationError
from include.evaluation.evaluate import evaluate_batch
from include.model.registry import load_model
from include.periods import Period
from include.streaming.partition import (
    merge_summaries,
    summarise_chunks,
    summarise_partition,
)
from tests.support.tutorial_mes import copied_workspace, trained_template

Q2 = Period.parse("2017Q2")


@pytest.fixture(scope="module")
def template(tmp_path_factory, tutorial_config):
    return trained_template(tmp_path_factory.mktemp("partition-template"), tutorial_config)


@pytest.fixture
def workspace(template, tmp_path, tutorial_config):
    opened = copied_workspace(template, tmp_path, tutorial_config)
    yield opened
    opened.close()


@pytest.fixture
def model(workspace):
    return load_model(workspace.config, root=workspace.models)


def partitioned(workspace, model, *, labelled=True):
    parts = [
        summarise_partition(
            model, workspace.rows, workspace.config, part, index=i, labelled=labelled, rows=250
        )
        for i, part in enumerate(Q2.slices(3))
    ]
    return parts, merge_summaries(reversed(parts))


def test_merged_partitions_equal_one_pass_over_the_quarter(workspace, model) -> None:
    config = workspace.config
    parts, merged = partitioned(workspace, model)
    whole = summarise_chunks(model, workspace.rows.chunks(period=Q2, rows=400), config, seed=1)

    assert len(parts) == 3
    assert all(part.rows for part in parts)
    assert merged.rows == whole.rows == len(workspace.rows.read(period=Q2))
    assert merged.labelled == whole.labelled == merged.rows
    assert merged.scores.confusion() == whole.scores.confusion()
    assert np.array_equal(merged.scores.positives, whole.scores.positives)
    for name, feature in merged.numeric.items():
        assert np.array_equal(feature.counts, whole.numeric[name].counts)
        assert feature.missing == whole.numeric[name].missing
        assert feature.mean == pytest.approx(whole.numeric[name].mean, rel=1e-12)
    for name, feature in merged.categorical.items():
        assert feature.counts() == whole.categorical[name].counts()
    assert np.array_equal(merged.probability.counts, whole.probability.counts)
    assert merged.sample.seen == merged.rows
    assert len(merged.sample.sample()) == min(config.sample_size, merged.rows)


def test_the_summaries_agree_with_the_in_memory_evaluation(workspace, model) -> None:
    config = workspace.config
    _, merged = partitioned(workspace, model)
    batch = workspace.rows.read(period=Q2)
    evaluation = evaluate_batch(model, batch, config, Q2, drift=False)
    performance = evaluation.performance

    assert merged.scores.confusion() == performance.confusion_matrix
    auc = merged.scores.auc()
    assert abs(auc.value - performance.auc) <= auc.bound
    assert auc.bound < 1e-3
    for name in config.categorical_features:
        assert merged.categorical[name].counts() == count_categories(batch[name])
    for name in config.numeric_features:
        values = pd.to_numeric(batch[name], errors="coerce")
        assert merged.numeric[name].mean == pytest.approx(values.mean(), rel=1e-9)
        assert merged.numeric[name].missing == int(values.isna().sum())


def test_an_unlabelled_read_counts_every_row_unlabelled(workspace, model) -> None:
    _, merged = partitioned(workspace, model, labelled=False)
    assert merged.labelled == 0
    assert int(merged.scores.unlabelled.sum()) == merged.rows


def test_a_label_outside_the_classes_is_refused_in_its_chunk(workspace, model) -> None:
    config = workspace.config
    batch = workspace.rows.read(period=Q2)
    first, second = batch.iloc[:1000].copy(), batch.iloc[1000:2000].copy()
    second[config.label] = second[config.label].replace({0: 2})  # each chunk has two values
    with pytest.raises(DataValidationError, match="outside the classes"):
        summarise_chunks(model, [first, second], config, seed=1)


def test_three_label_values_across_partitions_are_refused(workspace, model) -> None:
    config = workspace.config
    batch = workspace.rows.read(period=Q2)
    first, second = batch.iloc[:1000].copy(), batch.iloc[1000:2000].copy()
    one = summarise_chunks(model, [first], config, seed=(1, 0))
    other = summarise_chunks(model, [second], config, seed=(1, 1))
    other.label_values = other.label_values | {2}  # as a summary of another model's rows
    with pytest.raises(DataValidationError, match="takes 3 values across the batch"):
        one.merge(other)


def test_summaries_of_other_features_do_not_merge(workspace, model) -> None:
    config = workspace.config
    batch = workspace.rows.read(period=Q2).iloc[:500]
    one = summarise_chunks(model, [batch], config, seed=(1, 0))
    other = summarise_chunks(model, [batch], config, seed=(1, 1))
    other.numeric.pop(next(iter(other.numeric)))
    with pytest.raises(ConfigurationError, match="different features"):
        one.merge(other)
    with pytest.raises(ConfigurationError, match="no partition summary"):
        merge_summaries([])


def test_a_summary_saved_and_loaded_merges_as_before(workspace, model, tmp_path) -> None:
    parts, merged = partitioned(workspace, model)
    loaded = [type(part).load(part.save(tmp_path / f"part-{i}")) for i, part in enumerate(parts)]
    again = merge_summaries(loaded)

    assert again.rows == merged.rows
    assert again.label_values == merged.label_values
    assert again.scores.confusion() == merged.scores.confusion()
    for name, feature in again.numeric.items():
        assert np.array_equal(feature.counts, merged.numeric[name].counts)
    for name, feature in again.categorical.items():
        assert feature.counts() == merged.categorical[name].counts()
    pd.testing.assert_frame_equal(
        again.sample.sample().reset_index(drop=True),
        merged.sample.sample().reset_index(drop=True),
    )


def test_a_damaged_summary_is_refused(workspace, model, tmp_path) -> None:
    parts, _ = partitioned(workspace, model)
    folder = parts[0].save(tmp_path / "part")
    (folder / "summary.json").write_text('{"format": "mes-batch-summary-2", "rows": 3}')
    with pytest.raises(DataValidationError, match="is damaged"):
        type(parts[0]).load(folder)
    with pytest.raises(DataValidationError, match="cannot read the batch summary"):
        type(parts[0]).load(tmp_path / "nowhere")
