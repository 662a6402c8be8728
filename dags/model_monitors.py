"""
### Your own models: two DAGs per configuration file of `MES_CONFIG_DIR`

Every YAML file of the configuration folder (`MES_CONFIG_DIR`; by default the folder of the
tutorial's `fraud_tutorial.yaml`) describes one monitored model. Each model `<name>` other than
the tutorial's (whose DAGs are `data_drift_monitor` and `recursive_mes`) gets:

- `<name>__data_drift_monitor`: on the model's schedule (from its `cadence`, or `schedule`),
  evaluates the period that just closed, runs the model's checks on that evaluation and emails
  the model's recipients on a warning; backfill it over past periods to fill the store;
- `<name>__recursive_mes`: evaluates the periods of its Param `periods`, one task each.

Adding a model is adding a file: the Airflow DAG processor picks it up at its next parse.
A file that cannot be read is reported as an import error of
`model_config_errors.py` and only its own DAGs are missing; the other models keep running.
"""

from __future__ import annotations

from include.config import load_config, load_config_dir
from mes_model_dags import build_monitor_dag, build_recursive_dag


def _primary_model() -> str | None:
    """The model the tutorial's DAG ids serve (``MES_CONFIG``), which gets no second pair."""
    try:
        return load_config().name
    except Exception:  # its own DAG files report it
        return None


def _doc(dag_id: str, what: str, config, path) -> str:
    checks = ", ".join(f"`{check['name']}`" for check in config.checks)
    return (
        f"### {dag_id}: {what}\n\n"
        f"Model **{config.name}** (source `{config.model.source}`), store `{config.store_name}`, "
        f"cadence {config.cadence}, schedule `{config.monitor_schedule or 'manual only'}`, "
        f"checks {checks}; configuration `{path}`.\n{__doc__}"
    )


_PRIMARY = _primary_model()
for _file in load_config_dir():
    if _file.config is None or _file.config.name == _PRIMARY:
        continue
    _name = _file.config.name
    globals()[f"{_name}__monitor"] = build_monitor_dag(
        _file.config,
        config_path=str(_file.path),
        schedule=_file.config.monitor_schedule,
        doc_md=_doc(
            f"{_name}__data_drift_monitor",
            "evaluate the period that just closed, check it, email on a warning",
            _file.config,
            _file.path,
        ),
    )
    globals()[f"{_name}__recursive"] = build_recursive_dag(
        _file.config,
        config_path=str(_file.path),
        doc_md=_doc(
            f"{_name}__recursive_mes", "evaluate the Param's periods", _file.config, _file.path
        ),
    )
