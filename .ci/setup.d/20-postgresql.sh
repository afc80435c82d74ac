# Sourced by .ci/run. A real PostgreSQL server from Debian for the monitor's tests (the same suite runs on
# PGlite and on PostgreSQL). Exports MEDMLOPS_TEST_DATABASE_URL, read by test/support/postgres.ts.
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
MEDMLOPS_TEST_DATABASE_URL="$(bash test/support/postgres-server.sh start "$ROOT/.medmlops/postgres")"
export MEDMLOPS_TEST_DATABASE_URL
echo "PostgreSQL for tests: $MEDMLOPS_TEST_DATABASE_URL"
CLEANUP+=("bash '$ROOT/test/support/postgres-server.sh' stop '$ROOT/.medmlops/postgres'")
