#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium (browser tests), nginx
# (proxy tests), redis-server (scale-out tests) and Prometheus (prometheus and
# promtool: the alert rules and a real scrape). Installs only what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v nginx >/dev/null || need+=(nginx-light)
command -v redis-server >/dev/null || need+=(redis-server)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || need+=(prometheus)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${need[*]}"
# Debian's packages start their services on install (a system Prometheus on :9090 that scrapes
# this host, a system nginx and redis): the tests start their own on free ports. Unless the host
# already has a policy (Docker images do), forbid service starts for the install, and lift it after.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Under systemd the unit is enabled all the same: keep it from starting, now and at boot.
if [[ " ${need[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
