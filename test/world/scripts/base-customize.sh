#!/bin/sh
# mmdebstrap customize hook of the `base` layer.
# Usage: base-customize.sh ROOTFS PKG...   (PKG: downloaded with Recommends, not installed)
set -eu
R="$1"; shift

# Cache the .debs a test installs for real later, so that install needs no download.
chroot "$R" apt-get install --download-only -y -o APT::Install-Recommends=true "$@"

# Per-host identity comes from each host's upper dir: no keys, machine-id or name baked in.
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R/etc/hostname" "$R/etc/resolv.conf"

mkdir -p "$R/etc/ssh/sshd_config.d"
cat > "$R/etc/ssh/sshd_config.d/10-mss-world.conf" <<'CONF'
# Test world: root by key only, no DNS lookups of clients, one host key (written per host).
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
CONF

# Units that fail or do harm in a container without a console, that reach the network on their
# own, or that only cost boot time here (no kernel modules, no fstab, no utmp readers).
for u in console-getty.service systemd-firstboot.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer \
         sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
         sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount \
         modprobe@.service systemd-modules-load.service systemd-remount-fs.service e2scrub_reap.service \
         systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-journal-flush.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# Generators for block devices and boot loaders have nothing to find in a container.
mkdir -p "$R/etc/systemd/system-generators"
for g in systemd-cryptsetup-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator \
         systemd-integritysetup-generator systemd-veritysetup-generator; do
  ln -sf /dev/null "$R/etc/systemd/system-generators/$g"
done

# The journal stays in memory: no journal files in the hosts' upper dirs.
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=8M\n' > "$R/etc/systemd/journald.conf.d/10-mss-world.conf"
