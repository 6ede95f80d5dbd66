#!/bin/sh
# Start a test host: join its cgroup2 subtree (which becomes the root of its cgroup namespace),
# then become the `unshare` whose child, host-init.sh, is PID 1 of the host.
# Usage: host-launch.sh NETNS CGROUP_DIR NAME LOWERDIRS UPPER WORK MERGED CONSOLE_FILE DEV_TEMPLATE_DIR
set -eu
ns=$1 cg=$2; shift 2
echo $$ > "$cg/cgroup.procs"
exec ip netns exec "$ns" unshare --pid --fork --kill-child --mount --uts --ipc --cgroup \
  /bin/sh "$(dirname "$0")/host-init.sh" "$@"
