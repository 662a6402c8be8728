"""
### recursive_mes: evaluate the model on each quarter into the model evaluation store

The tutorial's *Recursive_MES* scenario, for the model of `MES_CONFIG` (by default the
tutorial's). For each period of the Param `quarters` (e.g. `["2017Q2", "2017Q3"]`; months,
weeks, days, date ranges and `latest` are taken too), one mapped task filters the period,
validates it (the data quality gate), evaluates the model on it, analyses drift against the
reference, and stores the evaluation in the model's store of the MES (the `mes_db` connection;
without it, the embedded store). Re-running a period replaces its evaluation. The store's asset
(`the_MES` for the tutorial) is updated with the evaluation ids in its extra.

For the production form, one evaluation per period as each closes, use Airflow's backfill of
`data_drift_monitor` over past periods.
"""

from __future__ import annotations

from include.config import load_config
from mes_model_dags import build_recursive_dag

recursive_mes_dag = build_recursive_dag(load_config(), config_path=None, doc_md=__doc__)
