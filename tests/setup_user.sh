#!/usr/bin/env bash
# Creates the unprivileged test user (default nsuser, with uid 1001: the
# fixtures of tests/integration/subids_cli_test.ts name it so; another name
# takes any uid, or the one given) with exactly two non-adjacent subordinate
# ranges in /etc/subuid and /etc/subgid. Idempotent; an existing user of that
# name with another uid than the one it needs is said and refused.
# Usage: setup_user.sh [USER [UID]]
set -euo pipefail
user=${1:-nsuser}
uid=${2:-}
[ -z "$uid" ] && [ "$user" = nsuser ] && uid=1001
if ! id "$user" >/dev/null 2>&1; then
  if [ -n "$uid" ] && getent passwd "$uid" >/dev/null; then
    echo "setup_user.sh: uid $uid is taken by $(getent passwd "$uid" | cut -d: -f1); give another: $0 $user UID" >&2
    exit 1
  fi
  useradd --create-home --shell /bin/bash ${uid:+--uid "$uid"} "$user"
elif [ -n "$uid" ] && [ "$(id -u "$user")" != "$uid" ]; then
  echo "setup_user.sh: $user exists with uid $(id -u "$user"), not $uid; the fixture tests need $uid (usermod -u $uid $user)" >&2
  exit 1
fi
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  sed -i "/^$user:/d" "$f"
  printf '%s:200000:65536\n%s:400000:65536\n' "$user" "$user" >>"$f"
done
