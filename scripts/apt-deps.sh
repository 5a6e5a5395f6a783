#!/usr/bin/env bash
# Install the Debian packages Workbench needs when they are missing (as root), or print the exact
# command to run (as anyone else). Fast when nothing is missing: one dpkg-query.
set -euo pipefail
pkgs=("$@")
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: not a Debian-based system; install the equivalents of: ${pkgs[*]}" >&2
  exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; update once, then install.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/workbench-apt.log 2>&1; then
  apt-get update -q >>/tmp/workbench-apt.log 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/workbench-apt.log 2>&1 \
    || { tail -20 /tmp/workbench-apt.log >&2; exit 1; }
fi
