"""Developer tooling: the demo (``make demo``), the local stack (``make up``/``make down``), the
dev and prod deployments as local processes, and a mail sink. It drives Airflow from the outside.

It lives outside ``include/`` on purpose: bundles carry ``dags/``, ``plugins/`` and ``include/``
(``include.bundles.archive.SOURCE_FOLDERS``), and none of this belongs in a production bundle.
"""
