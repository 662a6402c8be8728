# The image of every Airflow service in docker-compose.yaml (dev and prod alike): Python 3.11, the
# version requirements.txt is resolved for, with exactly its pins, and the project's code.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    PYTHONPATH=/opt/mes:/opt/mes/plugins \
    MES_HOME=/var/lib/mes/home \
    MES_BUNDLE_STORE=/var/lib/mes/bundles

# curl for the healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# A non-root user owning what the services write; named volumes mounted on these folders start
# with this ownership.
RUN groupadd --gid 50000 airflow \
    && useradd --uid 50000 --gid airflow --home-dir /opt/airflow --create-home --shell /bin/bash airflow \
    && mkdir -p /opt/mes /opt/airflow/logs /var/lib/mes/home /var/lib/mes/bundles /var/lib/mes/auth \
    && chown -R airflow:airflow /opt/airflow /var/lib/mes

COPY requirements.txt /opt/mes/requirements.txt
RUN pip install --no-cache-dir -r /opt/mes/requirements.txt

# requirements.txt stays beside the code: bundles made in dev carry it (include/bundles/archive.py).
COPY dags /opt/mes/dags
COPY plugins /opt/mes/plugins
COPY include /opt/mes/include

USER airflow
WORKDIR /opt/airflow
EXPOSE 8080
CMD ["airflow", "version"]
