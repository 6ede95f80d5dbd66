#!/bin/sh
# Make the template of a host's /dev: the usual character devices, the standard links, empty
# pts/shm mount points and a regular file to bind the console log onto.
# Usage: dev-template.sh DIR
set -eu
d=$1
rm -rf "$d.tmp"
mkdir -p "$d.tmp/pts" "$d.tmp/shm"
mknod -m 666 "$d.tmp/null" c 1 3
mknod -m 666 "$d.tmp/zero" c 1 5
mknod -m 666 "$d.tmp/full" c 1 7
mknod -m 666 "$d.tmp/random" c 1 8
mknod -m 666 "$d.tmp/urandom" c 1 9
mknod -m 666 "$d.tmp/tty" c 5 0
ln -s pts/ptmx "$d.tmp/ptmx"
ln -s /proc/self/fd "$d.tmp/fd"
ln -s /proc/self/fd/0 "$d.tmp/stdin"
ln -s /proc/self/fd/1 "$d.tmp/stdout"
ln -s /proc/self/fd/2 "$d.tmp/stderr"
: > "$d.tmp/console"
rm -rf "$d"
mv "$d.tmp" "$d"
