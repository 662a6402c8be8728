"""include/tutorial: the tutorial's names agree with its configuration, and are the defaults."""

from __future__ import annotations

from include.config import DEFAULT_CONFIG_DIR, config_dir, load_config, parse_config
from include.tutorial import (
    TUTORIAL_CONFIG_PATH,
    TUTORIAL_DATASETS,
    TUTORIAL_MODEL,
    TUTORIAL_PREPARED,
    TUTORIAL_STORE,
    TUTORIAL_TABLES,
)


def test_the_configuration_names_the_tutorials_model_store_and_dataset() -> None:
    config = load_config(TUTORIAL_CONFIG_PATH)
    assert (config.name, config.store_name, config.dataset) == (
        TUTORIAL_MODEL,
        TUTORIAL_STORE,
        TUTORIAL_PREPARED,
    )
    assert config.is_tutorial


def test_the_tutorial_is_the_default_configuration_and_folder(home) -> None:
    assert load_config().name == TUTORIAL_MODEL
    assert config_dir() == DEFAULT_CONFIG_DIR == TUTORIAL_CONFIG_PATH.parent


def test_a_configuration_without_store_or_dataset_gets_the_tutorials() -> None:
    config = parse_config(
        {
            "name": "churn",
            "label": "y",
            "date_column": "d",
            "numeric_features": ["x"],
            "reference_period": "2020Q1",
        }
    )
    assert (config.store_name, config.dataset) == (TUTORIAL_STORE, TUTORIAL_PREPARED)
    assert not config.is_tutorial


def test_generate_writes_the_raw_tables_and_the_prepared_dataset_only() -> None:
    assert (*TUTORIAL_TABLES, TUTORIAL_PREPARED) == TUTORIAL_DATASETS
    assert len(set(TUTORIAL_DATASETS)) == 4
