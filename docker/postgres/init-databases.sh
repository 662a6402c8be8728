#!/usr/bin/env bash
# The databases of the docker-compose setup, each owned by a login role of its own:
#   the dev and prod Airflow metadata databases (also their Celery result backends),
#   the dev and prod MES databases (connection mes_db; the MES creates its schema "mes" itself),
#   the deployer database (connection deployer_db, shared by dev and prod).
#
# The postgres image runs this once, as the superuser, when its data volume is empty
# (/docker-entrypoint-initdb.d/). It is safe to run again: what exists is kept, each role's
# password is set to the one given, and nobody but the owner may connect to a database. After
# changing a password in .env: docker compose exec postgres /docker-entrypoint-initdb.d/10-init-databases.sh
#
# Names and passwords come from the environment (docker-compose.yaml sets them); the server from
# libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, else the local socket as the image's
# superuser.
set -euo pipefail

export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
export PGDATABASE="${PGDATABASE:-postgres}"

# create_database DATABASE ROLE PASSWORD
create_database() {
    local database=$1 role=$2 password=$3
    # psql quotes the values (:'var', format's %I and %L): any name or password is safe here.
    psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 \
        -v database="$database" -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database')
\gexec
SQL
    echo "database ${database}: owned by role ${role}"
}

create_database "${DEV_AIRFLOW_DB:?}" "${DEV_AIRFLOW_DB_USER:?}" "${DEV_AIRFLOW_DB_PASSWORD:?}"
create_database "${PROD_AIRFLOW_DB:?}" "${PROD_AIRFLOW_DB_USER:?}" "${PROD_AIRFLOW_DB_PASSWORD:?}"
create_database "${DEV_MES_DB:?}" "${DEV_MES_DB_USER:?}" "${DEV_MES_DB_PASSWORD:?}"
create_database "${PROD_MES_DB:?}" "${PROD_MES_DB_USER:?}" "${PROD_MES_DB_PASSWORD:?}"
create_database "${DEPLOYER_DB:?}" "${DEPLOYER_DB_USER:?}" "${DEPLOYER_DB_PASSWORD:?}"
