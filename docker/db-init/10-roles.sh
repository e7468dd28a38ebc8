#!/bin/bash
# First start of the database container: the owner and application roles, and the extension.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$IOC_DB_OWNER_PASSWORD" -v app_pw="$IOC_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE ioc_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE ioc_app LOGIN PASSWORD :'app_pw';
ALTER DATABASE ioc OWNER TO ioc_owner;
GRANT CONNECT ON DATABASE ioc TO ioc_app;
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL
