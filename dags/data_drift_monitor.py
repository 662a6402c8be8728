"""
### data_drift_monitor: build the MES, check data drift, email on a warning

The tutorial's *Data drift monitor* scenario, for the model of `MES_CONFIG` (by default the
tutorial's fraud model; its store, checks, cadence and recipients come from its YAML file).

1. `build_mes` evaluates one period into the model evaluation store. A scheduled or backfill run
   evaluates the quarter that closed just before its logical date (the run due on 2018-01-01
   evaluates 2017Q4); a manual run evaluates the Param `quarter` (default `2017Q4`; any period
   syntax, or `latest`).
2. `mes_warn` runs the model's checks (the tutorial's: `data drift < 0.45`) on **the evaluation
   this run built**: data drift above the soft maximum (Param `drift_threshold`) is a WARNING;
   above `drift_error_threshold` an ERROR, which fails the run (and its failure alert fires).
   A check that finds nothing to read (EMPTY) on that evaluation fails the run too.
3. On WARNING only, `compose_warning` and `send_warning` email the model's recipients (else
   the Variable `mes_alert_recipients`) through `smtp_default`: which checks warned, for which
   model and period, a link to this run, the run's log and the period's drift report attached.
   OK ends at `quiet_end`.
4. Beside the check, `recheck_labels` evaluates again each of the `labels.recheck_periods`
   earlier periods whose labels have landed since they were evaluated (their label share rose),
   so the store holds the realised performance next to the estimate made without labels.

The DAG is built by `mes_model_dags.build_monitor_dag` (the plugins folder), as the Airflow DAGs
of every other model are.
"""

from __future__ import annotations

from include.config import load_config
from mes_dag_defaults import monitor_schedule
from mes_model_dags import build_monitor_dag

_config = load_config()
data_drift_monitor_dag = build_monitor_dag(
    _config,
    config_path=None,
    # The configuration's schedule (quarterly for the tutorial); MES_MONITOR_SCHEDULE overrides
    # it ("none": only from the UI or API).
    schedule=monitor_schedule(_config.monitor_schedule),
    doc_md=__doc__,
)
