#!/bin/sh
# Build the `pkgs` layer: install PKGs from the .debs cached in the base layer (no download) on an
# overlay over it; the overlay's upper dir is the layer. Run in a private mount namespace
# (unshare --mount) so every mount here vanishes with the process, even on a crash.
# Usage: build-pkgs.sh BASE_ROOTFS OUT_DIR PKG...   -> OUT_DIR/upper
set -eu
base=$1 out=$2; shift 2
M="$out/merged"
mkdir -p "$out/upper" "$out/work" "$M"
mount --make-rprivate /
mount -t overlay overlay \
  -o "lowerdir=$base,upperdir=$out/upper,workdir=$out/work,index=off,metacopy=off,redirect_dir=off" "$M"
mount -t proc proc "$M/proc"
mount -t tmpfs -o mode=755,size=4m tmpfs "$M/dev"
for d in null zero full random urandom; do touch "$M/dev/$d"; mount --bind "/dev/$d" "$M/dev/$d"; done

# Nothing may start services in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$M/usr/sbin/policy-rc.d"
chmod 755 "$M/usr/sbin/policy-rc.d"
DEBIAN_FRONTEND=noninteractive chroot "$M" apt-get install -y --no-download \
  -o APT::Install-Recommends=true "$@"
rm -f "$M/usr/sbin/policy-rc.d"

umount "$M/dev/null" "$M/dev/zero" "$M/dev/full" "$M/dev/random" "$M/dev/urandom" "$M/dev" "$M/proc" "$M"
rmdir "$M"
rm -rf "$out/work"
