#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (docker-entrypoint-initdb.d).
# Creates the roles and databases of the stack with the passwords from the environment (.env):
#   temporal     owns the Temporal databases (CREATEDB: temporal-sql-tool creates them)
#   ucp_owner    owns the connector's schema; `ucp-connector migrate` connects as it
#   ucp_service  what api and worker connect as; migration 0001 grants it INSERT/SELECT only on audit rows
# Passwords are passed as psql variables, never interpolated into SQL text.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" \
  -v owner_pw="$CONNECTOR_OWNER_DB_PASSWORD" \
  -v service_pw="$CONNECTOR_SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE ROLE ucp_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE ucp_service LOGIN PASSWORD :'service_pw';
CREATE DATABASE ucp OWNER ucp_owner;
REVOKE ALL ON DATABASE ucp FROM PUBLIC;
GRANT CONNECT ON DATABASE ucp TO ucp_service;
SQL
