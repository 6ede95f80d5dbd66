#!/bin/sh
# PID 1 of a test host's new namespaces (pid, mount, uts, ipc, cgroup; the netns is already entered)
# until it becomes systemd. Mounts stay private to the host's mount namespace and vanish with it.
# Usage: host-init.sh NAME LOWERDIRS UPPER WORK MERGED CONSOLE_FILE DEV_TEMPLATE_DIR
set -eu
name=$1 lower=$2 upper=$3 work=$4 M=$5 console=$6 devtemplate=$7

mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work,index=off,metacopy=off,redirect_dir=off" "$M"
mount -t proc -o nosuid,nodev,noexec proc "$M/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$M/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$M/sys/fs/cgroup"

# A minimal /dev: device nodes and links copied from a template (one process, not one per node),
# a private devpts, and a file as the console.
mount -t tmpfs -o mode=755,nosuid,size=4m tmpfs "$M/dev"
cp -a "$devtemplate/." "$M/dev/"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$M/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m tmpfs "$M/dev/shm"
mount --bind "$console" "$M/dev/console"
mount -t tmpfs -o mode=755,nosuid,nodev,size=64m tmpfs "$M/run"

hostname "$name"
# pivot_root(".", ".") stacks the old root over the new one; detaching "." then drops the old root.
cd "$M"
pivot_root . .
umount -l .
cd /
exec /usr/bin/env -i container=lxc TERM=dumb /lib/systemd/systemd
