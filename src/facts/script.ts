// The remote half of fact gathering: one POSIX sh script, one round trip, no python needed.
// It only reads (files, `id`, `command -v`, `ip`), prints sections that start with a line
// "@@mss-facts <name>", and always exits 0; parse.ts turns the output into Facts.
// Runs with dash, bash and busybox sh (Debian 11/12, Ubuntu 22.04, Fedora 36). No `${` in it: this
// is a JS template literal, so plain `$name` is used for shell variables.
//
// MSS_FACTS_ROOT (unset on real hosts) makes the file checks read below another directory, so the
// tests can run this exact script against fixture trees (a Fedora-like /etc/nginx...).

export const FACTS_MARKER = '@@mss-facts';

export const FACTS_SCRIPT = String.raw`
set -f
LC_ALL=C
export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
r="$MSS_FACTS_ROOT"
conf="$r/etc/nginx/nginx.conf"
sec() { printf '\n${FACTS_MARKER} %s\n' "$1"; }
yn() { if "$@"; then echo yes; else echo no; fi; }

sec os-release
if [ -r "$r/etc/os-release" ]; then cat "$r/etc/os-release"
elif [ -r "$r/usr/lib/os-release" ]; then cat "$r/usr/lib/os-release"; fi

sec hostname
uname -n 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null

sec uid
id -u

sec systemd
printf 'run_systemd_system=%s\n' "$(yn test -d "$r/run/systemd/system")"
printf 'pid1_comm=%s\n' "$(cat /proc/1/comm 2>/dev/null)"

sec commands
for c in apt-get dnf nginx; do printf '%s=%s\n' "$c" "$(command -v "$c" 2>/dev/null)"; done

sec nginx
printf 'conf=%s\n' "$(yn test -f "$conf")"
printf 'sites_enabled=%s\n' "$(yn test -d "$r/etc/nginx/sites-enabled")"
printf 'conf_d=%s\n' "$(yn test -d "$r/etc/nginx/conf.d")"

sec nginx-directives
if [ -r "$conf" ]; then
  sed -n -e 's/#.*//' -e '/^[[:space:]]*user[[:space:]]/p' -e '/^[[:space:]]*include[[:space:]]/p' "$conf"
fi

sec groups
u=""
if [ -r "$conf" ]; then
  u=$(sed -n -e 's/#.*//' -e 's/^[[:space:]]*user[[:space:]][[:space:]]*\([^;[:space:]]*\).*/\1/p' "$conf" | head -n 1)
fi
for n in $u www-data nginx; do printf '%s=%s\n' "$n" "$(id -gn "$n" 2>/dev/null)"; done

sec addresses
if command -v ip >/dev/null 2>&1; then ip -o addr show 2>/dev/null
else printf 'hostname-I=%s\n' "$(hostname -I 2>/dev/null)"; fi

sec resolv
if [ -r "$r/etc/resolv.conf" ]; then sed -n -e 's/^[[:space:]]*nameserver[[:space:]][[:space:]]*\([^[:space:]#]*\).*/\1/p' "$r/etc/resolv.conf"; fi

sec end
`;
