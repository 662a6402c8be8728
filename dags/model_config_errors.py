"""
### Model configurations that cannot be read

This DAG file defines no DAG: it fails to import, with every problem spelled out, when a
configuration file of `MES_CONFIG_DIR` is broken, so that the problem shows in the Airflow UI
as an import error while the DAGs of every other model (`model_monitors.py`) keep running.
"""

from __future__ import annotations

from include.config import load_config_dir
from include.errors import ConfigurationError


def _broken_files() -> list[str]:
    problems = []
    for found in load_config_dir():
        if found.error is not None:
            stem = found.path.stem
            problems.append(
                f"- {found.path.name}: {found.error}. Its DAGs (e.g. {stem}__data_drift_monitor,"
                f" {stem}__recursive_mes) are not loaded until the file is fixed."
            )
    return problems


_problems = _broken_files()
if _problems:
    raise ConfigurationError(
        f"{len(_problems)} model configuration file(s) cannot be read:\n" + "\n".join(_problems)
    )
