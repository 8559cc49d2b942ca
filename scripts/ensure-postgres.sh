#!/usr/bin/env bash
# Makes sure a PostgreSQL server runs on 127.0.0.1:5432 and that the test
# role `apflow_test` (password `apflow_test`, superuser: tests create and drop
# their own databases) can log in over TCP, whatever the server's auth
# method. Prints the URL the tests use. Installs nothing: run
# `scripts/install-deps.sh test` first.
set -euo pipefail
URL="postgres://apflow_test:apflow_test@127.0.0.1:5432/postgres"

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || pg_ctlcluster "$v" main start 2>/dev/null || true
    done
  elif command -v systemctl >/dev/null 2>&1; then
    systemctl start postgresql 2>/dev/null || true
  fi
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
if ! ready; then
  echo "apflow: PostgreSQL is not running on 127.0.0.1:5432 and could not be started." >&2
  exit 1
fi

if ! psql "$URL" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  sql="DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apflow_test') THEN CREATE ROLE apflow_test LOGIN SUPERUSER PASSWORD 'apflow_test'; ELSE ALTER ROLE apflow_test LOGIN SUPERUSER PASSWORD 'apflow_test'; END IF; END \$\$;"
  if psql -h 127.0.0.1 -U postgres -d postgres -qtAc "$sql" >/dev/null 2>&1; then :
  elif [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then runuser -u postgres -- psql -qtAc "$sql" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then sudo -u postgres psql -qtAc "$sql" >/dev/null
  else echo "apflow: cannot create the test role; run as the postgres user: psql -c \"$sql\"" >&2; exit 1
  fi
fi
psql "$URL" -qtAc 'SELECT 1' >/dev/null
echo "$URL"
