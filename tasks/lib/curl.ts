// curl against the proxy from the host itself: the proxy's name resolved to this host (or the
// address given), whatever DNS says, so a smoke test proves this host's nginx.

/** -sS, a time limit, --resolve <name>:<port>:<address>, and -k when certificates are not checked. */
export function proxyCurlFlags(url: string, resolveTo = '127.0.0.1', validateCerts = true): string[] {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return ['-sS', '--max-time', '20', '--resolve', `${u.hostname}:${port}:${resolveTo}`, ...(validateCerts === false ? ['-k'] : [])];
}
