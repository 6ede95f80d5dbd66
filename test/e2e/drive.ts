// What the drive e2e tests (layout C, move, retire) do on a host: upload through the host's Misskey
// API, fetch URLs through the host's nginx, and poll every URL during a play, counting any answer
// other than 200.
import assert from 'node:assert/strict';
import type { World } from '../world/world.js';
import { TOKENS } from '../world/sandbox.js';

export interface Upload {
  id: string;
  url: string;
  /** The uploaded bytes on the host. */
  file: string;
  /** The Content-Type Misskey stored it with. */
  type: string;
}

/** Upload a file through the host's Misskey API (its storage of the moment decides where it goes). */
export async function upload(world: World, h: string, file: string, type: string): Promise<Upload> {
  const out = (
    await world.hostExecOk(
      h,
      `printf %s '${TOKENS.admin}' | curl -sS -F 'i=<-' -F 'file=@${file};type=${type}' -w '\\n%{http_code}' http://127.0.0.1:3000/api/drive/files/create`,
    )
  ).stdout;
  const cut = out.lastIndexOf('\n');
  assert.equal(out.slice(cut + 1), '200', out);
  const r = JSON.parse(out.slice(0, cut)) as { id: string; url: string; type: string };
  return { id: r.id, url: r.url, file, type: r.type };
}

/** A file of `size` bytes on the host: a PNG signature and then bytes of `seed`. */
export async function makeFile(world: World, h: string, file: string, seed: number, size: number, png = true): Promise<void> {
  await world.hostExecOk(
    h,
    `python3 -c 'import sys; sys.stdout.buffer.write(${png ? 'bytes([137,80,78,71,13,10,26,10]) + ' : ''}bytes((i * ${seed}) % 251 for i in range(8, ${size})))' > ${file}`,
  );
}

/** `<status> <content-type> SAME|DIFF` of each upload, fetched through the host's nginx (TLS, 127.0.0.1). */
export async function fetchAll(world: World, h: string, ups: Upload[]): Promise<string[]> {
  const script = ups.map((u) => {
    const host = new URL(u.url).hostname;
    return `c=$(curl -sk --resolve ${host}:443:127.0.0.1 -o /tmp/got -D /tmp/h -w '%{http_code}' '${u.url}'); t=$(tr -d '\\r' < /tmp/h | sed -n 's/^content-type: //ip'); cmp -s /tmp/got ${u.file} && s=SAME || s=DIFF; echo "$c $t $s"`;
  });
  return (await world.hostExecOk(h, script.join('\n'))).stdout.trim().split('\n');
}

/** Every upload answers 200 with its bytes and its stored type. */
export async function assertAllServed(world: World, h: string, ups: Upload[]): Promise<void> {
  const got = await fetchAll(world, h, ups);
  ups.forEach((u, i) => assert.equal(got[i], `200 ${u.type} SAME`, `${h}: ${u.url}`));
}

/**
 * A poller on the host (a transient unit): every URL through nginx, again and again. An answer other
 * than 200 is counted as bad. A connection nginx closed before any answer (curl exit 16, 52 or 56:
 * a reload closes connections whose request has not been read yet, and browsers send the request
 * again on a fresh one) is sent once more, and counted apart; a refused or timed-out connection is bad.
 */
export async function startPoller(world: World, h: string, ups: Upload[]): Promise<void> {
  const list = ups.map((u) => u.url).join(' ');
  const host = new URL(ups[0]!.url).hostname;
  const get = `curl -sk --max-time 20 --resolve ${host}:443:127.0.0.1 -o /dev/null -w "%{http_code}" "$u"`;
  await world.hostExecOk(
    h,
    `rm -f /tmp/poll.bad /tmp/poll.n /tmp/poll.closed; systemd-run --unit=mss-poller --quiet sh -c 'while :; do for u in ${list}; do ` +
      `c=$(${get}); rc=$?; case $rc in 16|52|56) echo "$u rc=$rc" >> /tmp/poll.closed; c=$(${get}); rc=$?;; esac; ` +
      `[ "$c" = 200 ] || echo "$u $c rc=$rc" >> /tmp/poll.bad; echo >> /tmp/poll.n; done; sleep 0.1; done'`,
  );
}

/** Stop the poller: the answers other than 200 it saw (empty: none), how many fetches it made, and how many connections were closed unanswered. */
export async function stopPoller(world: World, h: string): Promise<{ bad: string; fetches: number; closed: number }> {
  await world.hostExecOk(h, 'systemctl stop mss-poller');
  const bad = (await world.hostExecOk(h, 'cat /tmp/poll.bad 2>/dev/null || true')).stdout.trim();
  const fetches = Number((await world.hostExecOk(h, 'wc -l < /tmp/poll.n')).stdout.trim());
  const closed = Number((await world.hostExecOk(h, 'cat /tmp/poll.closed 2>/dev/null | wc -l')).stdout.trim());
  return { bad, fetches, closed };
}

/**
 * Stop the poller and assert what a user would see: no answer other than 200 during `what`, the
 * poller ran (3 rounds at least), and only a few connections closed unanswered by a reload.
 */
export async function assertPollerClean(world: World, h: string, ups: Upload[], what: string): Promise<void> {
  const p = await stopPoller(world, h);
  assert.equal(p.bad, '', `${h}: answers other than 200 during ${what}`);
  assert.ok(p.fetches >= ups.length * 3, `${h}: the poller ran (${p.fetches} fetches)`);
  // A connection closed unanswered by a reload is sent again (as a browser does); only a few are expected.
  assert.ok(p.closed <= 3, `${h}: ${p.closed} connections closed without an answer`);
}
