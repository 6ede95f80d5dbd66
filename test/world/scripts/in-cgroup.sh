#!/bin/sh
# Run a command as a member of a cgroup2 directory, so it can always be found again.
# Usage: in-cgroup.sh CGROUP_DIR CMD [ARG...]
set -eu
echo $$ > "$1/cgroup.procs"
shift
exec "$@"
