#!/bin/sh
# Start-up: migrate, then serve. Roles: api (default), worker, migrate.
set -eu
role="${1:-api}"
# Several processes write their metrics here (shared/metrics.py); values of an earlier run would be added in.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"; fi
case "$role" in
  migrate) exec nakoming db upgrade ;;
  api)
    # Migrations are idempotent; running them here too makes a lone api container safe to start.
    if [ "${NAKOMING_MIGRATE_ON_START:-true}" = "true" ]; then nakoming db upgrade; fi
    exec nakoming serve --host 0.0.0.0 --port "${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}" ;;
  worker) exec nakoming worker ;;
  *) exec "$@" ;;
esac
