"""The fraud tutorial: everything that is the tutorial's and not the monitoring's.

The monitoring code (``include.config``, ``include.workflow``, the DAGs and the CLI) is generic:
it watches any binary classifier described by a configuration file. The tutorial is one such
model, ``fraud_authorization``, whose data this project can make up: its configuration
(``fraud_tutorial.yaml`` beside this file), its data generator (:mod:`.generator`,
:mod:`.population`), its preparation (:mod:`.prepare`), the step that writes its datasets
(:mod:`.datasets`) and its commands (:mod:`.cli`: ``generate``, ``demo``).

This module holds only names, so that the configuration model and the CLI can read them without
importing pandas or NumPy.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "TUTORIAL_CONFIG_PATH",
    "TUTORIAL_DATASETS",
    "TUTORIAL_MODEL",
    "TUTORIAL_PREPARED",
    "TUTORIAL_STORE",
    "TUTORIAL_TABLES",
]

# The tutorial's configuration, also the default configuration (MES_CONFIG) and the only file of
# the default configuration folder (MES_CONFIG_DIR).
TUTORIAL_CONFIG_PATH = Path(__file__).with_name("fraud_tutorial.yaml")
# The tutorial's model: its DAGs keep the ids recursive_mes, build_project_mes, data_drift_monitor.
TUTORIAL_MODEL = "fraud_authorization"
# The tutorial's model evaluation store (and Airflow asset): the default store of a configuration.
TUTORIAL_STORE = "the_MES"
# The raw tables the generator makes, and the prepared dataset the model is trained on.
TUTORIAL_TABLES = ("transactions", "cardholders", "merchants")
TUTORIAL_PREPARED = "transactions_prepared"
# Everything `generate` writes, and nothing else.
TUTORIAL_DATASETS = (*TUTORIAL_TABLES, TUTORIAL_PREPARED)
