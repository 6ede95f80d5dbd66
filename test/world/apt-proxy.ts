// A small HTTP forward proxy for apt inside the test hosts. It forwards GET and HEAD to the
// machine's own Debian mirror host(s), read from the apt sources at start, and answers 403 to
// anything else (other hosts, other methods, CONNECT). Run as its own process:
//   node dist/test/world/apt-proxy.js LISTEN_IP PORT

import http from 'node:http';
import type net from 'node:net';
import { pathToFileURL } from 'node:url';
import { mirrorHostPorts, readAptSources } from './apt-sources.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function strip(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** Why a request is refused, or null when it may pass. `allowed` holds `host:port` entries. */
export function refusal(method: string | undefined, url: string | undefined, allowed: Set<string>): string | null {
  if (method !== 'GET' && method !== 'HEAD') return `method ${method} not allowed`;
  let u: URL;
  try {
    u = new URL(url ?? '');
  } catch {
    return 'not an absolute http URL';
  }
  if (u.protocol !== 'http:') return `scheme ${u.protocol} not allowed`;
  if (u.username || u.password) return 'credentials in URL not allowed';
  if (!allowed.has(`${u.hostname}:${u.port || '80'}`)) return `host ${u.host} is not an apt mirror of this machine`;
  return null;
}

export function createAptProxy(allowed: Set<string>, log: (line: string) => void = () => {}): http.Server {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const server = http.createServer((req, res) => {
    const why = refusal(req.method, req.url, allowed);
    if (why) {
      log(`403 ${req.method} ${req.url} (${why})`);
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`403 Forbidden by the test world's apt proxy: ${why}\n`);
      return;
    }
    const u = new URL(req.url!);
    const up = http.request(
      {
        host: u.hostname,
        port: Number(u.port || 80),
        method: req.method,
        path: u.pathname + u.search,
        headers: { ...strip(req.headers), host: u.host },
        agent,
      },
      (ures) => {
        log(`${ures.statusCode} ${req.method} ${req.url}`);
        res.writeHead(ures.statusCode ?? 502, strip(ures.headers));
        ures.on('error', () => res.destroy()); // upstream cut the body short
        ures.pipe(res);
      },
    );
    up.on('error', (e) => {
      log(`502 ${req.method} ${req.url} (${e.message})`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`502 upstream error\n`);
      else res.destroy();
    });
    res.on('close', () => up.destroy());
    res.on('error', () => up.destroy());
    req.on('error', () => up.destroy()); // the client went away
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    log(`403 CONNECT ${req.url}`);
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  return server;
}

async function main(): Promise<void> {
  const [ip, port] = process.argv.slice(2);
  if (!ip || !port) throw new Error('usage: apt-proxy.js LISTEN_IP PORT');
  const allowed = new Set(mirrorHostPorts(readAptSources()));
  if (allowed.size === 0) throw new Error('no plain-HTTP apt mirror in /etc/apt sources');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  // One bad connection must not take the proxy down for every host.
  process.on('uncaughtException', (e) => log(`error (kept running): ${e.stack ?? e.message}`));
  const server = createAptProxy(allowed, log);
  server.listen(Number(port), ip, () => log(`listening on ${ip}:${port}, forwarding to ${allowed.size} mirror host(s)`));
  const bye = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // apt keeps its connections open
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    process.stderr.write(`apt-proxy: ${e.message}\n`);
    process.exit(1);
  });
}
