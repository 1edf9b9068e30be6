#!/bin/sh
# Run a command inside a fresh, private network namespace:
#   lo up, a veth pair v0 10.77.0.1/24 <-> v1 10.77.0.2/24, default route via 10.77.0.2.
# Nothing inside can reach the outside world, yet WebRTC has a non-loopback interface to gather host
# candidates on (libdatachannel ignores loopback; Chromium gathers only on the default route's interface).
#
#   sh scripts/in-netns.sh CMD [ARGS...]
#
# As root it uses `unshare -n`; otherwise `unshare -rn` (a user namespace in which we may configure our own
# network namespace). Every step execs, so CMD ends up with this script's PID: signals reach it directly
# and its exit status is ours. Inside, PEERSITE_NETNS=1 is set; if it is already set we just exec CMD.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: sh scripts/in-netns.sh CMD [ARGS...]" >&2
  exit 2
fi

if [ "${PEERSITE_NETNS:-}" = "1" ]; then
  exec "$@"
fi

explain () {
  cat >&2 <<EOF

in-netns: $1

The integration tests (WebRTC between Node peers and Chromium) must run inside a private network
namespace so that they never send traffic off this machine. This script creates one with:
  - as root:     unshare -n   (root or CAP_SYS_ADMIN + CAP_NET_ADMIN)
  - as non-root: unshare -rn  (needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1
                               on Debian/Ubuntu, user.max_user_namespaces > 0, and no AppArmor/SELinux
                               restriction such as kernel.apparmor_restrict_unprivileged_userns=1)
and needs iproute2's \`ip\` (apt-get install iproute2) to add a veth pair inside it.

Ways to run the tests:
  - sudo npm test                     (root: always works on Linux)
  - enable unprivileged user namespaces, e.g.
      sudo sysctl -w kernel.unprivileged_userns_clone=1
      sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   (Ubuntu 23.10+)
    then: npm test
  - in a container: run it with --cap-add SYS_ADMIN --cap-add NET_ADMIN (or --privileged)
  - unit tests only, which need no network: npm run test:unit
EOF
}

# Find `ip`: non-root PATHs often lack /usr/sbin.
IP=$(command -v ip 2>/dev/null || true)
for candidate in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do
  if [ -z "$IP" ] && [ -x "$candidate" ]; then IP=$candidate; fi
done
if [ -z "$IP" ]; then
  explain "the \`ip\` command (iproute2) was not found."
  exit 1
fi
if ! command -v unshare >/dev/null 2>&1; then
  explain "the \`unshare\` command (util-linux) was not found."
  exit 1
fi

# The setup that runs inside the new namespace, then becomes CMD. $1 is the path to `ip`.
SETUP='
IP=$1; shift
{
  "$IP" link set lo up &&
  "$IP" link add v0 type veth peer name v1 &&
  "$IP" addr add 10.77.0.1/24 dev v0 &&
  "$IP" addr add 10.77.0.2/24 dev v1 &&
  "$IP" link set v0 up &&
  "$IP" link set v1 up &&
  "$IP" route add default via 10.77.0.2 dev v0
} || exit 97
PEERSITE_NETNS=1
export PEERSITE_NETNS
exec "$@"'

# Probe which flavour works (with the full setup, so a namespace where veth is refused counts as not
# working), then run the command for real. The probe costs a few milliseconds.
probe () {
  # shellcheck disable=SC2086
  unshare $1 sh -c "$SETUP" sh "$IP" true >/dev/null 2>&1
}

if [ "$(id -u)" = "0" ] && probe -n; then
  exec unshare -n sh -c "$SETUP" sh "$IP" "$@"
fi
if probe -rn; then
  exec unshare -rn sh -c "$SETUP" sh "$IP" "$@"
fi

# Neither worked: say why as precisely as we can.
if [ "$(id -u)" = "0" ]; then
  reason="running as root, but \`unshare -n\` or the veth setup inside it failed (a container without CAP_SYS_ADMIN/CAP_NET_ADMIN?)."
elif unshare -rn true >/dev/null 2>&1; then
  reason="\`unshare -rn\` works, but configuring lo/veth inside the user namespace failed."
else
  reason="not root, and \`unshare -rn\` (unprivileged user + network namespace) is not permitted here."
fi
explain "$reason"
detail=$(unshare -rn sh -c "$SETUP" sh "$IP" true 2>&1 || true)
if [ -n "$detail" ]; then
  echo "" >&2
  echo "in-netns: the attempt said: $detail" >&2
fi
exit 1
