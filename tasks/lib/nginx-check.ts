// nginx -t for check mode, on the files a run would write, without writing them.
//
// How: one shell on the host enters a private mount namespace (unshare -m, propagation private),
// mounts a tmpfs on /tmp there, and lays an overlay (lower = the real directory, upper = the tmpfs)
// over /etc, /var and the top directory of every candidate file. The candidates are written into
// that view, a throwaway self-signed pair stands in for a certificate the run would obtain first
// (certbot runs before the vhost), and `nginx -t` reads the result. When the shell exits the
// namespace goes with it.
// The guarantee: every write in there (the candidates, nginx -t's own log, temp and cache
// directories under /var) lands in the tmpfs; no other process on the host ever sees any of it.
// Writes outside /etc, /var and the candidates' top directories are not covered: nginx -t creates
// only the paths its configuration names (proxy_cache_path, *_temp_path), so a cache directory
// elsewhere that does not exist yet would be created (empty) by it, as it is by the run.

import { sh } from '../../src/connection/quote.js';
import type { PlannedWrite } from '../../src/task.js';

/** Exit code of the check script when the sandbox cannot be set up (no unshare, no overlay, not root). */
export const SANDBOX_UNAVAILABLE = 90;
export const NGINX_MISSING = 127;

/** Outer command: the script itself comes on stdin (it carries file contents; arguments are visible in ps). */
export const SANDBOX_COMMAND =
  `command -v nginx >/dev/null 2>&1 || exit ${NGINX_MISSING}; ` +
  `command -v unshare >/dev/null 2>&1 || { echo 'unshare is not installed' >&2; exit ${SANDBOX_UNAVAILABLE}; }; ` +
  'exec unshare --mount --propagation private /bin/sh -s';

const SKIP_TOP = new Set(['', 'proc', 'sys', 'dev', 'tmp']);

/** Certificate and key paths the candidates name: a stand-in is made for those that do not exist. */
export function certificatePaths(files: [string, PlannedWrite][]): string[] {
  const out = new Set<string>();
  for (const [, w] of files) {
    for (const m of (w.content ?? '').matchAll(/^\s*(?:ssl_certificate|ssl_certificate_key|ssl_trusted_certificate)\s+("?)([^";\s$]+)\1\s*;/gm)) out.add(m[2]);
  }
  return [...out].sort();
}

/** The script run inside the namespace (fed on stdin to SANDBOX_COMMAND). */
export function sandboxScript(files: [string, PlannedWrite][]): string {
  const tops = new Set(['etc', 'var']);
  for (const [path] of files) {
    const top = path.split('/')[1] ?? '';
    if (!SKIP_TOP.has(top)) tops.add(top);
  }
  const fail = (what: string) => `|| { echo ${sh`${what}`} >&2; exit ${SANDBOX_UNAVAILABLE}; }`;
  const lines = [
    'set -u',
    `mount -t tmpfs -o mode=0700 mskplay-check /tmp </dev/null ${fail('cannot mount a tmpfs in a private mount namespace (needs root)')}`,
  ];
  for (const top of [...tops].sort()) {
    const dir = `/${top}`;
    lines.push(
      `if [ -d ${sh`${dir}`} ]; then mkdir -p /tmp/u/${sh`${top}`} /tmp/w/${sh`${top}`} && ` +
        sh`mount -t overlay mskplay-check -o lowerdir=${dir},upperdir=/tmp/u/${top},workdir=/tmp/w/${top} ${dir} </dev/null ` +
        `${fail(`cannot lay an overlay over ${dir}`)}; ` +
        // A top directory that does not exist cannot be covered: making it would touch the host.
        `else echo ${sh`cannot test here: ${dir} does not exist yet`} >&2; exit ${SANDBOX_UNAVAILABLE}; fi`,
    );
  }
  files.forEach(([path, w], i) => {
    if (w.dir) {
      lines.push(sh`mkdir -p ${path}`);
      return;
    }
    lines.push(sh`mkdir -p "$(dirname ${path})" && rm -rf ${path}`);
    if (w.link !== undefined) lines.push(sh`ln -s ${w.link} ${path}`);
    else {
      const tag = `MSKPLAY_CANDIDATE_${i}_EOF`;
      lines.push(
        `base64 -d > ${sh`${path}`} <<'${tag}'`,
        Buffer.from(w.content ?? '')
          .toString('base64')
          .replace(/(.{76})/g, '$1\n'),
        tag,
      );
    }
  });
  const certs = certificatePaths(files);
  if (certs.length) {
    // One PEM with both the key and the certificate serves as either file.
    lines.push(
      `missing=''; for f in ${certs.map((c) => sh`${c}`).join(' ')}; do [ -e "$f" ] || missing="$missing $f"; done`,
      'if [ -n "$missing" ]; then',
      `  command -v openssl >/dev/null 2>&1 || { echo "the certificate the run obtains first does not exist yet:$missing (openssl is needed to stand in for it)" >&2; exit ${SANDBOX_UNAVAILABLE}; }`,
      `  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mskplay-check -days 1 -keyout /tmp/k.pem -out /tmp/c.pem </dev/null >/dev/null 2>&1 ${fail('openssl could not make a stand-in certificate')}`,
      '  for f in $missing; do mkdir -p "$(dirname "$f")"; cat /tmp/k.pem /tmp/c.pem > "$f"; done',
      'fi',
    );
  }
  lines.push('nginx -t </dev/null');
  return lines.join('\n') + '\n';
}

/** nginx's own error lines, and the file:line it names first (e.g. /etc/nginx/conf.d/x.conf:3). */
export function nginxErrors(stderr: string): { lines: string[]; where?: string } {
  const all = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const lines = all.filter((l) => /\[(emerg|alert|crit|error)\]|test failed/i.test(l));
  const where = /\bin (\/\S+:\d+)/.exec(lines.join('\n'))?.[1];
  return { lines: lines.length ? lines : all.slice(-5), where };
}
