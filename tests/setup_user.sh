#!/usr/bin/env bash
# Creates the unprivileged test user (default nsuser) with exactly two
# non-adjacent subordinate ranges in /etc/subuid and /etc/subgid. Idempotent.
set -euo pipefail
user=${1:-nsuser}
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  sed -i "/^$user:/d" "$f"
  printf '%s:200000:65536\n%s:400000:65536\n' "$user" "$user" >>"$f"
done
