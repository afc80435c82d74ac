# Sourced by .ci/run. Debian's Prometheus for the alerting-rule tests (`promtool test rules`) and the dashboard
# integration test (a real Prometheus on loopback scraping a real sidecar and monitor). Tests find the binaries
# through MEDMLOPS_PROMETHEUS / MEDMLOPS_PROMTOOL (test/support/prometheus.ts), else /usr/bin.
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a system service where an init system runs; tests start their own on loopback.
(command -v systemctl >/dev/null && systemctl stop prometheus >/dev/null 2>&1) || true
export MEDMLOPS_PROMETHEUS=/usr/bin/prometheus MEDMLOPS_PROMTOOL=/usr/bin/promtool
"$MEDMLOPS_PROMTOOL" --version | head -1
