# Argo CD health checks (charts/medmlops/argocd/*.lua) are run by the tests with Debian's Lua 5.4, the Lua
# version family Argo CD's gopher-lua implements (5.1 syntax, which these scripts keep to).
apt-get install -y -qq --no-install-recommends lua5.4 >/dev/null
export MEDMLOPS_LUA=/usr/bin/lua5.4
