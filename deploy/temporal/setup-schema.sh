#!/bin/sh
# One-shot: create (idempotently) and migrate Temporal's two databases on PostgreSQL.
set -eu
for db in temporal temporal_visibility; do
  temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db "$db" create || true
  temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db "$db" setup-schema -v 0.0 || true
done
temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal \
  update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal_visibility \
  update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
