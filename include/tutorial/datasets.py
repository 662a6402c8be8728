"""Writing the tutorial's datasets into a dataset store: what ``generate`` does.

The generic code never writes a dataset; only these functions do, and only the tutorial's four
(:data:`include.tutorial.TUTORIAL_DATASETS`), each recorded as generated
(:mod:`include.tutorial.provenance`) so that nobody else's data is ever overwritten.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from include.data.storage import DatasetStore
from include.tutorial import TUTORIAL_DATASETS, TUTORIAL_PREPARED, TUTORIAL_TABLES
from include.tutorial.generator import TutorialTables, generate_tables
from include.tutorial.prepare import prepare_transactions
from include.tutorial.provenance import check_may_overwrite, record_generated

if TYPE_CHECKING:
    from include.config import MonitoringConfig


def generate_tutorial_data(
    datasets: DatasetStore,
    config: MonitoringConfig | None = None,
    *,
    transactions_per_quarter: int = 5_000,
    seed: int = 2017,
    label_delay_days: int = 0,
    labels_as_of: date | str | None = None,
) -> dict[str, int]:
    """Write the tutorial's datasets (transactions, cardholders, merchants and
    transactions_prepared) and return their row counts.

    With ``label_delay_days``, the labels of the last days before ``labels_as_of`` (default: the
    end of 2017) are not in yet (see ``include.tutorial.generator``); generating again with the
    same size and seed but no delay, or a later ``labels_as_of``, lands them.

    Only these four are written, whatever ``config`` says (it is accepted for the callers' sake
    and not used). Generating again over datasets generated earlier is fine; any of the four that
    ``generate`` did not write, or that changed since, is refused (ForeignDatasetError) before
    anything is generated or written. Each dataset's checksum is recorded as it is written.
    """
    del config  # the tutorial's datasets do not depend on the active configuration
    check_may_overwrite(datasets, TUTORIAL_DATASETS)
    tables = generate_tables(
        transactions_per_quarter=transactions_per_quarter,
        seed=seed,
        label_delay_days=label_delay_days,
        labels_as_of=labels_as_of,
    )
    frames = {name: getattr(tables, name) for name in TUTORIAL_TABLES}
    frames[TUTORIAL_PREPARED] = prepare_transactions(tables)
    for name, frame in frames.items():
        datasets.write(name, frame)
        record_generated(datasets, name)
    return {name: len(frame) for name, frame in frames.items()}


def save_tables(store: DatasetStore, tables: TutorialTables) -> None:
    """Write the tutorial's raw tables as the datasets transactions, cardholders and merchants."""
    for name in TUTORIAL_TABLES:
        store.write(name, getattr(tables, name))


def load_tables(store: DatasetStore) -> TutorialTables:
    """Read the tutorial's raw tables written by :func:`save_tables`."""
    return TutorialTables(**{name: store.read(name) for name in TUTORIAL_TABLES})
