# shellcheck shell=bash
# Real containers without Docker (docs/image.md, docs/testing.md "The real node"):
#  - Debian's container tools: mmdebstrap + umoci build the image, runc runs it; containerd, the CNI plugins,
#    iptables and conntrack are what the real test node (real-0) runs on;
#  - `npm run image`: the project's OCI image (.medmlops/image/), smoke-tested by the `containers` vitest project;
#  - the real node's kubelet, kube-proxy and pause image (test/cluster/node/build.sh, warm from the Go build cache
#    the control-plane build just filled).
# Cached: packages already installed are not reinstalled; the Debian layer and the Node package live in
# ~/.cache/medmlops/image; the image is rebuilt only when its build context changed; the node binaries only when
# their go.mod/go.sum change.
_containers_pkgs=(mmdebstrap umoci runc containerd containernetworking-plugins iptables nftables conntrack)
_containers_missing=()
for _p in "${_containers_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q "install ok installed" || _containers_missing+=("$_p")
done
if [ ${#_containers_missing[@]} -gt 0 ]; then
  echo "60-containers: apt-get install ${_containers_missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${_containers_missing[@]}" >/dev/null
fi
# The Debian package starts no daemon here (no systemd); the real node starts its own containerd.
_start=$(date +%s)
npm run -s image
echo "60-containers: image ready after $(( $(date +%s) - _start )) s"
_start=$(date +%s)
bash test/cluster/node/build.sh
echo "60-containers: node binaries ready after $(( $(date +%s) - _start )) s"
unset _p _start _containers_pkgs _containers_missing
