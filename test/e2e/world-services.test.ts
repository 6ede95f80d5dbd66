// e2e: the test world's services, driven with real programs (openssl, radosgw, s3cmd, curl,
// pebble, nginx, certbot, the Misskey stand-in on python3). S3 and ACME run in a private network
// namespace that carries the world's addresses (10.231.0.1 ...), so they bind exactly as in the
// world and never clash with a running world. The stand-in runs on 127.0.0.1.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { WORLD, runPath } from '../world/config.js';
import { ensureWorldCa, issueServerCert } from '../world/pki.js';
import { CA_TRUST_NAME, seedCaTrust } from '../world/pki-trust.js';
import { S3Service, bucketHost, publicReadPolicy, s3Status, s3cmdConfig, startS3, stopS3 } from '../world/s3.js';
import { PebbleService, pebbleIntermediate, pebbleIssuingRoot, startPebble, stopPebble } from '../world/pebble.js';
import { MISSKEY_PATHS, MISSKEY_RELEASES, MisskeyLine, MisskeyState, defaultYml, seedMisskey, standinSourceDir } from '../world/misskey-seed.js';
import { isAlive, run, runningDaemons, spawnDaemon, stopDaemon, tailFile, waitUntil } from '../world/services-proc.js';
import { TestNetns, createTestNetns } from '../world/services-testns.js';
import { buildLayers, layerInfo } from '../world/layers.js';
import YAML from 'yaml';
import { serverMissing } from '../prereq.js';

const TEST_DIR = runPath(`services-test-${process.pid}`);
const NETNS = `msssvc-${process.pid}`;
const GW = WORLD.gatewayIp;
/** Address of the test "host" namespace (bridged to the gateway) that runs nginx for certbot. */
const SITE_IP = '10.231.0.250';
const SITE = 'certbot-e2e.test';

const NEEDED = [
  'ip',
  'unshare',
  'openssl',
  'curl',
  'dnsmasq',
  'ceph',
  'ceph-mon',
  'ceph-osd',
  'ceph-authtool',
  'monmaptool',
  'radosgw',
  'radosgw-admin',
  's3cmd',
  'pebble',
  'nginx',
  'certbot',
  'systemd-analyze',
];

function missingPrerequisites(): string[] {
  const miss: string[] = [];
  if (process.getuid?.() !== 0) miss.push('root');
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  for (const b of NEEDED) if (!dirs.some((d) => fs.existsSync(path.join(d, b)))) miss.push(b);
  if (!fs.existsSync('/usr/bin/python3')) miss.push('/usr/bin/python3');
  return miss;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('world services', function () {
  this.timeout(30_000);
  let ns: TestNetns;
  let s3: S3Service;
  let pebble: PebbleService;

  before(async function () {
    const miss = missingPrerequisites();
    if (miss.length) serverMissing(`world services e2e needs: ${miss.join(', ')}`);
    fs.rmSync(TEST_DIR, { recursive: true, force: true });
    ns = await createTestNetns(NETNS, path.join(TEST_DIR, 'netns'), [`${GW}/24`]);
    // The world's DNS answers *.world.test with the gateway; the site name points at the "host".
    await ns.startDns(GW, { [`world.${WORLD.tld}`]: GW, [SITE]: SITE_IP });
  });

  /** S3 and Pebble, started once (on first need) as the world does: S3 takes ~15 s, Pebble ~1 s. */
  let started: Promise<void> | undefined;
  function needServices(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    started ??= (async () => {
      [s3, pebble] = await Promise.all([
        startS3({ bindIp: GW, dir: path.join(TEST_DIR, 's3'), netns: ns.name }),
        startPebble({ bindIp: GW, dnsServer: `${GW}:53`, dir: path.join(TEST_DIR, 'pebble'), netns: ns.name }),
      ]);
    })();
    return started;
  }

  after(async function () {
    this.timeout(60_000);
    if (!ns) return;
    if (s3) await stopS3(s3.dir);
    if (pebble) await stopPebble(pebble.dir);
    assert.ok(!fs.existsSync(path.join(TEST_DIR, 's3')) && !fs.existsSync(path.join(TEST_DIR, 'pebble')), 'service dirs left behind');
    await ns.destroy();
    const left: string[] = [];
    for (const d of ['netns', 'nginx', 'misskey-v10', 'misskey-v11', 'misskey-v12']) left.push(...(await runningDaemons(path.join(TEST_DIR, d))));
    assert.deepEqual(left, [], 'daemons left running');
    const nsList = (await run(['ip', 'netns', 'list'])).stdout;
    assert.ok(!nsList.includes(NETNS), 'test netns left behind');
    fs.rmSync(TEST_DIR, { recursive: true, force: true });
  });

  describe('PKI', function () {
    it('caches the CA and issues server certs with the SANs the world needs', async function () {
      const a = await ensureWorldCa();
      const b = await ensureWorldCa();
      assert.equal(fs.readFileSync(a.certFile, 'utf8'), fs.readFileSync(b.certFile, 'utf8'), 'CA re-created');
      assert.equal(fs.statSync(a.keyFile).mode & 0o077, 0, 'CA key readable by others');
      const c = await issueServerCert({
        outDir: path.join(TEST_DIR, 'pki'),
        name: 's3',
        dnsNames: ['s3.world.test', '*.s3.world.test'],
        ips: ['127.0.0.1', GW],
      });
      const verify = await run(['openssl', 'verify', '-CAfile', a.certFile, c.certFile]);
      assert.match(verify.stdout, /: OK/);
      const san = (await run(['openssl', 'x509', '-in', c.certFile, '-noout', '-ext', 'subjectAltName'])).stdout;
      for (const want of ['DNS:s3.world.test', 'DNS:*.s3.world.test', 'IP Address:127.0.0.1', `IP Address:${GW}`]) {
        assert.ok(san.includes(want), `SAN lacks ${want}: ${san}`);
      }
      const bad = await run(['openssl', 'verify', '-CAfile', '/etc/ssl/certs/ca-certificates.crt', c.certFile], { allowFail: true });
      assert.notEqual(bad.code, 0, 'a public bundle must not verify the test cert');
    });

    it('seeds a host upper dir to trust the CA system-wide (bundle = lower + CA), idempotently', async function () {
      const lower = path.join(TEST_DIR, 'trust-lower');
      const upper = path.join(TEST_DIR, 'trust-upper');
      fs.mkdirSync(path.join(lower, 'etc/ssl/certs'), { recursive: true });
      fs.mkdirSync(upper, { recursive: true });
      const base = fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8');
      fs.writeFileSync(path.join(lower, 'etc/ssl/certs/ca-certificates.crt'), base);
      await seedCaTrust(upper, [lower]);
      const bundleFile = path.join(upper, 'etc/ssl/certs/ca-certificates.crt');
      const bundle = fs.readFileSync(bundleFile, 'utf8');
      const caPem = fs.readFileSync((await ensureWorldCa()).certFile, 'utf8');
      assert.ok(bundle.startsWith(base), 'lower bundle not kept');
      assert.ok(bundle.endsWith(caPem.trim() + '\n'), 'CA not appended');
      assert.equal(fs.readFileSync(path.join(upper, `usr/local/share/ca-certificates/${CA_TRUST_NAME}.crt`), 'utf8'), caPem.trim() + '\n');
      assert.equal(fs.readlinkSync(path.join(upper, `etc/ssl/certs/${CA_TRUST_NAME}.pem`)), `/usr/local/share/ca-certificates/${CA_TRUST_NAME}.crt`);
      const hash = (await run(['openssl', 'x509', '-hash', '-noout', '-in', (await ensureWorldCa()).certFile])).stdout.trim();
      assert.equal(fs.readlinkSync(path.join(upper, `etc/ssl/certs/${hash}.0`)), `${CA_TRUST_NAME}.pem`);
      await seedCaTrust(upper, [lower]);
      assert.equal(fs.readFileSync(bundleFile, 'utf8'), bundle, 'second seed changed the bundle');
    });
  });

  describe('S3 (radosgw, HTTPS, virtual-host style)', function () {
    let s3cfg: string;
    const bucket = 'mss-e2e-media';
    const s3cmd = (args: string[], cfg = s3cfg) => ns.run(['s3cmd', '-c', cfg, ...args], { dns: true, timeoutMs: 60_000 });

    before(async function () {
      await needServices.call(this);
      s3cfg = path.join(TEST_DIR, 's3cfg');
      fs.writeFileSync(s3cfg, s3cmdConfig({ caFile: s3.caFile }), { mode: 0o600 });
    });

    it('s3cmd mb/put/get over HTTPS, resolving <bucket>.s3.world.test', async function () {
      const src = path.join(TEST_DIR, 'object.txt');
      const back = path.join(TEST_DIR, 'object.back');
      fs.writeFileSync(src, 'hello from the test world\n');
      await s3cmd(['mb', `s3://${bucket}`]);
      await s3cmd(['put', src, `s3://${bucket}/drive/object.txt`]);
      await s3cmd(['get', '--force', `s3://${bucket}/drive/object.txt`, back]);
      assert.equal(fs.readFileSync(back, 'utf8'), 'hello from the test world\n');
      // s3cmd used the virtual-host name: the world DNS saw the query for it.
      const dnsLog = fs.readFileSync(path.join(TEST_DIR, 'netns/log/dnsmasq.out'), 'utf8');
      assert.ok(dnsLog.includes(`query[A] ${bucketHost(bucket)}`), 'no DNS query for the bucket host name');
    });

    it('refuses a wrong secret key', async function () {
      const bad = path.join(TEST_DIR, 's3cfg-bad');
      fs.writeFileSync(bad, s3cmdConfig({ caFile: s3.caFile }).replace(WORLD.s3.secretKey, 'not-the-secret-key-000000000000000000000'), { mode: 0o600 });
      const r = await ns.run(['s3cmd', '-c', bad, 'ls', `s3://${bucket}`], { dns: true, allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /403|SignatureDoesNotMatch/);
    });

    it('anonymous GET is 403 before the public-read policy and 200 after; info shows the policy', async function () {
      const objPath = '/drive/object.txt';
      assert.equal(await s3Status(s3, objPath, bucketHost(bucket)), 403);
      assert.equal(await s3Status(s3, `/${bucket}${objPath}`), 403);
      const before = (await s3cmd(['info', `s3://${bucket}`])).stdout;
      assert.match(before, /Policy:\s+none/);
      const policyFile = path.join(TEST_DIR, 'policy.json');
      fs.writeFileSync(policyFile, publicReadPolicy(bucket));
      await s3cmd(['setpolicy', policyFile, `s3://${bucket}`]);
      const info = (await s3cmd(['info', `s3://${bucket}`])).stdout;
      assert.ok(info.includes(`arn:aws:s3:::${bucket}/*`) && info.includes('s3:GetObject'), `policy not shown: ${info}`);
      assert.equal(await s3Status(s3, objPath, bucketHost(bucket)), 200);
      assert.equal(await s3Status(s3, `/${bucket}${objPath}`), 200, 'path-style');
      const body = await ns.run(['curl', '-sf', '--cacert', s3.caFile, `https://${bucketHost(bucket)}${objPath}`], { dns: true });
      assert.equal(body.stdout, 'hello from the test world\n');
      assert.equal(await s3Status(s3, `/`, bucketHost(bucket)), 403, 'listing must stay private');
    });

    it('a host seeded with seedCaTrust verifies radosgw through its system bundle (curl and python)', async function () {
      const upper = path.join(TEST_DIR, 's3-trust-upper');
      fs.mkdirSync(upper, { recursive: true });
      await seedCaTrust(upper, ['/']); // this machine's root as the (read-only) lower layer
      const bundle = path.join(upper, 'etc/ssl/certs/ca-certificates.crt');
      const url = `https://${bucketHost(bucket)}/drive/object.txt`;
      const c = await ns.run(['curl', '-sf', '--cacert', bundle, url], { dns: true });
      assert.equal(c.stdout, 'hello from the test world\n');
      const py = `import ssl,urllib.request;print(urllib.request.urlopen('${url}',context=ssl.create_default_context(cafile='${bundle}')).status)`;
      assert.equal((await ns.run(['/usr/bin/python3', '-c', py], { dns: true })).stdout.trim(), '200');
      const noTrust = await ns.run(['curl', '-s', '--cacert', '/etc/ssl/certs/ca-certificates.crt', url], { dns: true, allowFail: true });
      assert.equal(noTrust.code, 60, 'without the CA curl must reject the certificate');
    });
  });

  describe('ACME (Pebble) with certbot --nginx', function () {
    const nginxDir = path.join(TEST_DIR, 'nginx');
    const le = path.join(TEST_DIR, 'letsencrypt');

    before(needServices);
    after(async function () {
      await stopDaemon(path.join(nginxDir, 'pids', 'nginx.pid'));
    });

    it('serves the ACME directory at acme.world.test:14000 with a world-CA certificate', async function () {
      assert.equal(pebble.directoryUrl, WORLD.acme.directory);
      const dir = JSON.parse((await ns.run(['curl', '-sf', '--cacert', pebble.caFile, pebble.directoryUrl], { dns: true })).stdout);
      assert.ok(typeof dir.newOrder === 'string' && dir.newOrder.startsWith(`https://${WORLD.acme.name}:`), JSON.stringify(dir));
      const root = await pebbleIssuingRoot(pebble);
      assert.match(root, /^-----BEGIN CERTIFICATE-----/);
    });

    it("certbot --nginx gets and installs a certificate that chains to Pebble's root", async function () {
      this.timeout(180_000);
      fs.mkdirSync(path.join(nginxDir, 'sites'), { recursive: true });
      fs.mkdirSync(path.join(nginxDir, 'www'), { recursive: true });
      fs.mkdirSync(path.join(nginxDir, 'tmp'), { recursive: true });
      fs.writeFileSync(path.join(nginxDir, 'www/index.html'), 'certbot site\n');
      fs.writeFileSync(
        path.join(nginxDir, 'nginx.conf'),
        [
          `pid ${nginxDir}/nginx.pid;`,
          `error_log ${nginxDir}/error.log;`,
          'events { worker_connections 64; }',
          'http {',
          `  access_log ${nginxDir}/access.log;`,
          `  client_body_temp_path ${nginxDir}/tmp/body;`,
          `  proxy_temp_path ${nginxDir}/tmp/proxy;`,
          `  fastcgi_temp_path ${nginxDir}/tmp/fastcgi;`,
          `  uwsgi_temp_path ${nginxDir}/tmp/uwsgi;`,
          `  scgi_temp_path ${nginxDir}/tmp/scgi;`,
          `  include ${nginxDir}/sites/*.conf;`,
          '}',
          '',
        ].join('\n'),
      );
      const siteFile = path.join(nginxDir, 'sites', `${SITE}.conf`);
      fs.writeFileSync(siteFile, `server {\n    listen 80;\n    server_name ${SITE};\n    root ${nginxDir}/www;\n}\n`);
      // nginx and certbot run in a "host" namespace bridged to the gateway, as on a world host.
      const host = await ns.addHost('site', `${SITE_IP}/24`, GW);
      await ns.run(['nginx', '-t', '-c', path.join(nginxDir, 'nginx.conf')], { host });
      const nginx = await spawnDaemon({
        name: 'nginx',
        dir: nginxDir,
        netns: host,
        argv: ['nginx', '-c', path.join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'],
      });
      await waitUntil('nginx on :80', async () => (await ns.run(['curl', '-sf', `http://${SITE_IP}/`], { allowFail: true })).code === 0, { timeoutMs: 10_000 });

      const env = { ...process.env, REQUESTS_CA_BUNDLE: pebble.caFile };
      await ns.run(
        [
          'certbot',
          '--nginx',
          '-d',
          SITE,
          '--server',
          pebble.directoryUrl,
          '--non-interactive',
          '--agree-tos',
          '--register-unsafely-without-email',
          '--no-random-sleep-on-renew',
          '--config-dir',
          path.join(le, 'config'),
          '--work-dir',
          path.join(le, 'work'),
          '--logs-dir',
          path.join(le, 'logs'),
          '--nginx-server-root',
          nginxDir,
        ],
        { dns: true, host, env, timeoutMs: 150_000 },
      );

      const site = fs.readFileSync(siteFile, 'utf8');
      assert.match(site, /listen 443 ssl; # managed by Certbot/);
      assert.ok(site.includes(`${le}/config/live/${SITE}/fullchain.pem`), site);
      await ns.run(['nginx', '-t', '-c', path.join(nginxDir, 'nginx.conf')], { host });
      assert.ok(isAlive(nginx.pid), 'nginx master restarted instead of reloaded');

      const roots = path.join(TEST_DIR, 'pebble-roots.pem');
      fs.writeFileSync(roots, await pebbleIssuingRoot(pebble));
      const https = await ns.run(['curl', '-sS', '--cacert', roots, `https://${SITE}/`], { dns: true, allowFail: true });
      assert.deepEqual(
        [https.code, https.stdout],
        [0, 'certbot site\n'],
        `HTTPS to the site failed: ${https.stderr}\nnginx error.log: ${await tailFile(path.join(nginxDir, 'error.log'))}\nnginx out: ${await tailFile(nginx.logFile)}`,
      );
      const worldCaOnly = await ns.run(['curl', '-s', '--cacert', pebble.caFile, `https://${SITE}/`], { dns: true, allowFail: true });
      assert.equal(worldCaOnly.code, 60, 'the site certificate must come from Pebble, not the world CA');
      const issuer = (await run(['openssl', 'x509', '-noout', '-issuer', '-in', `${le}/config/live/${SITE}/cert.pem`])).stdout;
      const inter = (await run(['openssl', 'x509', '-noout', '-subject'], { input: await pebbleIntermediate(pebble) })).stdout;
      assert.equal(issuer.replace(/^issuer=/, '').trim(), inter.replace(/^subject=/, '').trim());
    });
  });

  describe('inside a world host rootfs (overlay of the host layers, chroot, test netns)', function () {
    // What the hosts will see: the real layers, our seeding in a fresh upper dir, run with chroot
    // in a private mount namespace (nothing is booted; the lead's host e2e covers systemd).
    const tokens = { admin: 'AdminToken000009', moderator: 'ModToken00000009', user: 'UserToken0000009' };
    let lowers: string[];
    const root = (name: string) => path.join(TEST_DIR, `rootfs-${name}`);

    async function prepare(name: string, seed: (upper: string) => Promise<void>): Promise<void> {
      for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(root(name), d), { recursive: true });
      const up = path.join(root(name), 'upper');
      fs.mkdirSync(path.join(up, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(up, 'etc/resolv.conf'), `nameserver ${GW}\n`); // what the world's hosts get
      await seed(up);
    }

    /** Runs a shell command as root inside the host rootfs, in the test netns. */
    function inHost(name: string, cmd: string, allowFail = false) {
      const mount = [
        'mount -t overlay overlay -o "lowerdir=$2,upperdir=$0/upper,workdir=$0/work" "$0/merged"',
        'mount -t proc proc "$0/merged/proc"',
        'mount --bind /dev "$0/merged/dev"',
        'exec chroot "$0/merged" /bin/sh -c "$1"',
      ].join(' && ');
      return ns.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', mount, root(name), cmd, lowers.join(':')], { allowFail, timeoutMs: 60_000 });
    }

    before(async function () {
      await needServices.call(this);
      this.timeout(900_000); // builds the host layers only if the cache lacks them
      await buildLayers();
      lowers = [layerInfo('pkgs').dir, layerInfo('base').dir];
      await prepare('seeded', async (up) => {
        await seedHostServicesForTest(up);
      });
      await prepare('plain', async () => {});
    });

    async function seedHostServicesForTest(up: string): Promise<void> {
      await seedCaTrust(up, lowers);
      await seedMisskey(up, { line: 'v12', tokens, lowerDirs: lowers, domain: 'h1.test' });
      fs.mkdirSync(path.join(up, 'root'), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(up, 'root/.s3cfg'), s3cmdConfig(), { mode: 0o600 });
      fs.writeFileSync(path.join(up, 'root/update.json'), JSON.stringify({ i: tokens.admin, useObjectStorage: true, objectStorageBucket: 'host-bucket' }), {
        mode: 0o600,
      });
    }

    it('curl, python requests (certbot) and s3cmd trust the world CA through the seeded system bundle', async function () {
      const curl = await inHost('seeded', "curl -s -o /dev/null -w '%{http_code}' https://s3.world.test/");
      assert.equal(curl.stdout, '200');
      const py = await inHost(
        'seeded',
        `python3 -c "import certifi,requests; print(certifi.where()); print(requests.get('${pebble.directoryUrl}').status_code)"`,
      );
      assert.deepEqual(py.stdout.trim().split('\n'), ['/etc/ssl/certs/ca-certificates.crt', '200']);
      const s3ls = await inHost('seeded', 's3cmd -c /root/.s3cfg ls', true);
      assert.equal(s3ls.code, 0, s3ls.stderr);
      const plain = await inHost('plain', "curl -s -o /dev/null -w '%{http_code}' https://s3.world.test/", true);
      assert.equal(plain.code, 60, 'an unseeded host must not trust the world CA');
    });

    it('the seeded Misskey checkout, unit and stand-in work as user misskey', async function () {
      const who = await inHost(
        'seeded',
        'getent passwd misskey; stat -c "%U %a %n" /home/misskey /home/misskey/misskey/package.json /etc/misskey-standin/tokens.json',
      );
      assert.match(who.stdout, /^misskey:x:\d+:\d+:[^:]*:\/home\/misskey:\/bin\/bash$/m);
      assert.match(who.stdout, /^misskey 700 \/home\/misskey$/m);
      assert.match(who.stdout, /^misskey 644 \/home\/misskey\/misskey\/package.json$/m);
      assert.match(who.stdout, /^misskey 600 \/etc\/misskey-standin\/tokens.json$/m);
      const verify = await inHost('seeded', 'systemd-analyze verify --man=no /etc/systemd/system/misskey.service', true);
      assert.deepEqual([verify.code, verify.stderr.trim()], [0, '']);
      const script = [
        'set -eu',
        'cd /home/misskey/misskey',
        'setpriv --reuid=misskey --regid=misskey --init-groups /usr/bin/python3 /usr/local/lib/misskey-standin/standin.py >/tmp/standin.log 2>&1 &',
        'pid=$!',
        "trap 'kill $pid 2>/dev/null || true' EXIT",
        'i=0; until curl -sf http://127.0.0.1:3000/api/stand-in/config >/dev/null; do i=$((i+1)); [ $i -lt 100 ] || { cat /tmp/standin.log; exit 1; }; sleep 0.1; done',
        "curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d @/root/update.json http://127.0.0.1:3000/api/admin/update-meta",
      ].join('\n');
      const r = await inHost('seeded', script);
      assert.equal(r.stdout, '204');
      const stateFile = path.join(root('seeded'), 'upper', MISSKEY_PATHS.stateFile);
      const st = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as MisskeyState;
      assert.deepEqual([st.meta.useObjectStorage, st.meta.objectStorageBucket], [true, 'host-bucket']);
      const passwd = fs.readFileSync(path.join(root('seeded'), 'upper/etc/passwd'), 'utf8');
      const uid = Number(/^misskey:x:(\d+):/m.exec(passwd)?.[1]);
      assert.deepEqual([fs.statSync(stateFile).uid, fs.statSync(stateFile).mode & 0o777], [uid, 0o600]);
    });
  });

  describe('Misskey stand-in (contract fixture)', function () {
    const tokens = { admin: 'AdminToken000001', moderator: 'ModToken00000002', user: 'UserToken0000003' };
    const hosts: Record<string, { upper: string; port: number; pidFile?: string }> = {};

    async function seedHost(line: MisskeyLine): Promise<string> {
      const upper = path.join(TEST_DIR, `misskey-${line}/upper`);
      fs.mkdirSync(upper, { recursive: true });
      // This machine's root is the lower layer: only read, every write goes to the upper dir.
      await seedMisskey(upper, { line, tokens, lowerDirs: ['/'], domain: 'h1.test' });
      return upper;
    }

    async function start(line: MisskeyLine): Promise<void> {
      const h = hosts[line] ?? { upper: await seedHost(line), port: await freePort() };
      hosts[line] = h;
      const d = await spawnDaemon({
        name: `standin-${line}`,
        dir: path.join(TEST_DIR, `misskey-${line}`),
        argv: ['/usr/bin/python3', path.join(h.upper, MISSKEY_PATHS.standin), '--root', h.upper, '--config', MISSKEY_PATHS.config, '--port', String(h.port)],
      });
      h.pidFile = d.pidFile;
      await waitUntil(`stand-in ${line}`, async () => (await fetch(`http://127.0.0.1:${h.port}/api/stand-in/config`)).ok, {
        timeoutMs: 10_000,
        diag: async () => fs.readFileSync(d.logFile, 'utf8'),
      });
    }

    async function stop(line: MisskeyLine): Promise<void> {
      const f = hosts[line]?.pidFile;
      if (f) await stopDaemon(f, 3000);
    }

    async function api(line: MisskeyLine, ep: string, body: unknown): Promise<{ status: number; json: any; text: string }> {
      const r = await fetch(`http://127.0.0.1:${hosts[line].port}/api/${ep}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: r.status, json, text };
    }

    function state(line: MisskeyLine): MisskeyState {
      return JSON.parse(fs.readFileSync(path.join(hosts[line].upper, MISSKEY_PATHS.stateFile), 'utf8')) as MisskeyState;
    }

    const OS_FIELDS = [
      'useObjectStorage',
      'objectStorageBaseUrl',
      'objectStorageBucket',
      'objectStoragePrefix',
      'objectStorageEndpoint',
      'objectStorageRegion',
      'objectStoragePort',
      'objectStorageAccessKey',
      'objectStorageSecretKey',
      'objectStorageUseSSL',
      'objectStorageUseProxy',
      'objectStorageSetPublicRead',
      'objectStorageS3ForcePathStyle',
    ];

    after(async function () {
      for (const line of ['v10', 'v11', 'v12'] as MisskeyLine[]) await stop(line);
    });

    it('seedMisskey writes user, checkout, unit (enabled), tokens; idempotent', async function () {
      const upper = await seedHost('v10');
      const passwd = fs.readFileSync(path.join(upper, 'etc/passwd'), 'utf8');
      const line = passwd.split('\n').find((l) => l.startsWith('misskey:'));
      assert.ok(line, 'no misskey user');
      const uid = Number(line.split(':')[2]);
      assert.ok(passwd.startsWith(fs.readFileSync('/etc/passwd', 'utf8')), 'lower passwd not kept');
      const shadow = fs.statSync(path.join(upper, 'etc/shadow'));
      assert.equal(shadow.mode & 0o777, 0o640);
      assert.match(fs.readFileSync(path.join(upper, 'etc/group'), 'utf8'), new RegExp(`^misskey:x:${uid}:$`, 'm'));
      const home = fs.statSync(path.join(upper, MISSKEY_PATHS.home));
      assert.equal(home.uid, uid);
      const repo = fs.statSync(path.join(upper, MISSKEY_PATHS.repo));
      assert.equal(repo.uid, uid);
      const pkg = JSON.parse(fs.readFileSync(path.join(upper, MISSKEY_PATHS.packageJson), 'utf8'));
      assert.deepEqual([pkg.name, pkg.version], ['misskey', '10.102.586-m544']);
      const yml = fs.readFileSync(path.join(upper, MISSKEY_PATHS.defaultYml), 'utf8');
      assert.match(yml, /^drive:\n  storage: 'fs'$/m);
      assert.match(yml, /^#  storage: 'minio'$/m);
      assert.match(yml, /^#    secretKey: <secretKey>$/m);
      const unit = path.join(upper, MISSKEY_PATHS.unit);
      assert.equal(fs.readlinkSync(path.join(upper, 'etc/systemd/system/multi-user.target.wants/misskey.service')), MISSKEY_PATHS.unit);
      const u = fs.readFileSync(unit, 'utf8');
      for (const want of ['User=misskey', 'WorkingDirectory=/home/misskey/misskey', 'Restart=always', 'SyslogIdentifier=misskey']) {
        assert.ok(u.includes(want), `unit lacks ${want}`);
      }
      const verify = await run(['systemd-analyze', 'verify', '--man=no', unit], { allowFail: true });
      assert.deepEqual([verify.code, verify.stderr.trim()], [0, ''], 'unit does not verify cleanly');
      const tok = fs.statSync(path.join(upper, MISSKEY_PATHS.tokens));
      assert.deepEqual([tok.mode & 0o777, tok.uid], [0o600, uid]);
      await seedMisskey(upper, { line: 'v10', tokens, lowerDirs: ['/'] });
      assert.equal(fs.readFileSync(path.join(upper, 'etc/passwd'), 'utf8'), passwd, 'second seed changed passwd');
      for (const l of ['v11', 'v12'] as MisskeyLine[]) {
        const up = await seedHost(l);
        const p = JSON.parse(fs.readFileSync(path.join(up, MISSKEY_PATHS.packageJson), 'utf8'));
        assert.deepEqual([p.name, p.version], [MISSKEY_RELEASES[l].name, MISSKEY_RELEASES[l].version]);
        assert.doesNotMatch(fs.readFileSync(path.join(up, MISSKEY_PATHS.defaultYml), 'utf8'), /^drive:/m);
      }
    });

    it('reads default.yml as edited by the yaml library exactly as the yaml library does', async function () {
      const doc = YAML.parseDocument(defaultYml('v10', 'h1.test'));
      doc.set('drive', {
        storage: 'minio',
        bucket: 'mss-media',
        prefix: 'drive',
        baseUrl: 'https://s3.h1.test/mss-media/drive',
        config: {
          endPoint: 's3.world.test',
          region: 'us-east-1',
          useSSL: true,
          accessKey: 'MSSWORLDTESTACCESS01',
          secretKey: `a: b #c it's "q" +/= \\ end`,
          useProxy: false,
          setPublicRead: false,
          s3ForcePathStyle: true,
          port: 443,
        },
      });
      doc.set('description', 'a long sentence with spaces that the yaml library folds onto more than one line when it is wider than eighty columns');
      doc.set('ids', ['a', 'b c', 3]);
      const text = doc.toString();
      const py = 'import sys,json; sys.path.insert(0, sys.argv[1]); from standin import parse_yaml; print(json.dumps(parse_yaml(sys.stdin.read())))';
      const r = await run(['/usr/bin/python3', '-c', py, standinSourceDir()], { input: text });
      assert.deepEqual(JSON.parse(r.stdout), YAML.parse(text));
      for (const v of ['v11', 'v12'] as MisskeyLine[]) {
        const t = defaultYml(v, 'h1.test');
        assert.deepEqual(JSON.parse((await run(['/usr/bin/python3', '-c', py, standinSourceDir()], { input: t })).stdout), YAML.parse(t));
      }
    });

    describe('v12', function () {
      before(async () => start('v12'));

      it('admin/meta: all 13 fields with defaults, secret key included; admin only', async function () {
        const r = await api('v12', 'admin/meta', { i: tokens.admin });
        assert.equal(r.status, 200);
        for (const f of OS_FIELDS) assert.ok(f in r.json, `admin/meta lacks ${f}`);
        assert.equal(r.json.useObjectStorage, false);
        assert.equal(r.json.objectStorageUseSSL, true);
        assert.equal(r.json.objectStorageSecretKey, null);
        const mod = await api('v12', 'admin/meta', { i: tokens.moderator });
        assert.equal(mod.status, 400);
        assert.deepEqual([mod.json.error.code, mod.json.error.info.reason], ['ACCESS_DENIED', 'You are not the admin.']);
      });

      it('admin/update-meta: 204, updates only the given fields, then admin/meta shows them', async function () {
        const r = await api('v12', 'admin/update-meta', {
          i: tokens.admin,
          useObjectStorage: true,
          objectStorageBucket: 'media',
          objectStorageEndpoint: 's3.world.test',
          objectStorageSecretKey: 'sekret-value',
          objectStoragePort: null,
        });
        assert.deepEqual([r.status, r.text], [204, '']);
        const st = state('v12');
        assert.equal(st.meta.objectStorageBucket, 'media');
        assert.equal(st.meta.objectStoragePrefix, null, 'untouched field changed');
        assert.equal(st.meta.objectStorageUseSSL, true, 'untouched field changed');
        assert.equal(st.moderationLogs.at(-1)?.type, 'updateMeta');
        assert.equal(fs.statSync(path.join(hosts.v12.upper, MISSKEY_PATHS.stateFile)).mode & 0o077, 0, 'state readable by others');
        const m = await api('v12', 'admin/meta', { i: tokens.admin });
        assert.deepEqual([m.json.useObjectStorage, m.json.objectStorageSecretKey], [true, 'sekret-value']);
        const pub = await api('v12', 'meta', {});
        assert.equal(pub.json.features.objectStorage, true);
        assert.ok(!('objectStorageSecretKey' in pub.json), 'public meta leaks the secret');
        const adminPub = await api('v12', 'meta', { i: tokens.admin, detail: true });
        assert.ok(!('objectStorageSecretKey' in adminPub.json), 'v12 meta must not carry the secret even for admins');
      });

      it('rejects bad tokens (403), missing credentials (401), moderators, and null booleans', async function () {
        const bad = await api('v12', 'admin/update-meta', { i: 'WrongToken000000', useObjectStorage: false });
        assert.deepEqual([bad.status, bad.json.error.code], [403, 'AUTHENTICATION_FAILED']);
        const none = await api('v12', 'admin/update-meta', { useObjectStorage: false });
        assert.deepEqual([none.status, none.json.error.code], [401, 'CREDENTIAL_REQUIRED']);
        const mod = await api('v12', 'admin/update-meta', { i: tokens.moderator, useObjectStorage: false });
        assert.deepEqual([mod.status, mod.json.error.code, mod.json.error.info.reason], [400, 'ACCESS_DENIED', 'You are not the admin.']);
        const nul = await api('v12', 'admin/update-meta', { i: tokens.admin, objectStorageUseSSL: null });
        assert.deepEqual([nul.status, nul.json.error.code], [400, 'INVALID_PARAM']);
        assert.equal(state('v12').meta.useObjectStorage, true, 'a refused call changed state');
        assert.equal(state('v12').meta.objectStorageUseSSL, true);
      });
    });

    describe('v11 (Areionskey)', function () {
      before(async () => start('v11'));

      it('has no admin/meta (404 like an unknown endpoint)', async function () {
        const r = await api('v11', 'admin/meta', { i: tokens.admin });
        assert.equal(r.status, 404);
      });

      it('meta {i, detail}: the 13 fields for admins and moderators, only features.objectStorage otherwise', async function () {
        for (const who of ['admin', 'moderator'] as const) {
          const r = await api('v11', 'meta', { i: tokens[who], detail: true });
          assert.equal(r.status, 200);
          for (const f of OS_FIELDS) assert.ok(f in r.json, `${who}: meta lacks ${f}`);
        }
        for (const body of [{ detail: true }, { i: tokens.user, detail: true }]) {
          const r = await api('v11', 'meta', body);
          assert.equal(r.status, 200);
          assert.equal(r.json.features.objectStorage, false);
          for (const f of OS_FIELDS) assert.ok(!(f in r.json), `meta without admin rights shows ${f}`);
        }
        const bad = await api('v11', 'meta', { i: 'WrongToken000000' });
        assert.deepEqual([bad.status, bad.json.error.code], [403, 'AUTHENTICATION_FAILED']);
      });

      it('update-meta: moderators may, plain users get ACCESS_DENIED "You are not a moderator."', async function () {
        const ok = await api('v11', 'admin/update-meta', { i: tokens.moderator, useObjectStorage: true, objectStoragePrefix: 'drive' });
        assert.equal(ok.status, 204);
        assert.deepEqual([state('v11').meta.useObjectStorage, state('v11').meta.objectStoragePrefix], [true, 'drive']);
        const user = await api('v11', 'admin/update-meta', { i: tokens.user, useObjectStorage: false });
        assert.deepEqual([user.status, user.json.error.code, user.json.error.info.reason], [400, 'ACCESS_DENIED', 'You are not a moderator.']);
        const nul = await api('v11', 'admin/update-meta', { i: tokens.admin, useObjectStorage: null });
        assert.deepEqual([nul.status, nul.json.error.code], [400, 'INVALID_PARAM']);
        const m = await api('v11', 'meta', { i: tokens.admin, detail: true });
        assert.equal(m.json.useObjectStorage, true);
      });
    });

    describe('v10 (m544)', function () {
      before(async () => start('v10'));

      it('has admin/meta and admin/update-meta (admin only) like m544, but no object-storage field in either', async function () {
        const m = await api('v10', 'admin/meta', { i: tokens.admin });
        assert.equal(m.status, 200, m.text);
        assert.match(m.json.version, /^10\./);
        assert.ok(!('objectStorageBucket' in m.json) && !('useObjectStorage' in m.json), m.text);
        const u = await api('v10', 'admin/update-meta', { i: tokens.admin, useObjectStorage: true, objectStorageBucket: 'b' });
        assert.equal(u.status, 204, 'unknown params are ignored');
        assert.ok(!('useObjectStorage' in (await api('v10', 'admin/meta', { i: tokens.admin })).json), 'and nothing was stored');
        const mod = await api('v10', 'admin/update-meta', { i: tokens.moderator });
        assert.equal(mod.status, 400);
        assert.equal(mod.json.error.code, 'ACCESS_DENIED');
      });

      it('reads the drive section of default.yml at start; a restart picks up an edit', async function () {
        const cfg = async () => (await (await fetch(`http://127.0.0.1:${hosts.v10.port}/api/stand-in/config`)).json()) as any;
        const first = await cfg();
        assert.deepEqual(first.drive, { storage: 'fs' });
        assert.equal((await api('v10', 'meta', {})).json.features.objectStorage, false);

        const ymlFile = path.join(hosts.v10.upper, MISSKEY_PATHS.defaultYml);
        const yml = fs
          .readFileSync(ymlFile, 'utf8')
          .replace(
            /^drive:\n  storage: 'fs'\n/m,
            [
              'drive:',
              "  storage: 'minio'",
              "  bucket: 'media'",
              "  prefix: 'drive'",
              '  config:',
              "    endPoint: 's3.world.test'",
              '    useSSL: true',
              "    accessKey: 'AK'",
              "    secretKey: 'sekret-value'",
              '',
            ].join('\n'),
          );
        fs.writeFileSync(ymlFile, yml);
        assert.deepEqual((await cfg()).drive, { storage: 'fs' }, 'changed without a restart');

        await stop('v10');
        await start('v10');
        const second = await cfg();
        assert.notEqual(second.pid, first.pid);
        assert.equal(second.drive.storage, 'minio');
        assert.equal(second.drive.config.endPoint, 's3.world.test');
        assert.match(second.drive.config.secretKey, /^sha256:[0-9a-f]{64}$/, 'secret must not be served in clear');
        assert.equal((await api('v10', 'meta', {})).json.features.objectStorage, true);
      });

      it('does not start with a broken default.yml (like Misskey)', async function () {
        await stop('v10');
        const ymlFile = path.join(hosts.v10.upper, MISSKEY_PATHS.defaultYml);
        fs.appendFileSync(ymlFile, 'drive:\n\tstorage: fs\n');
        const r = await run(
          [
            '/usr/bin/python3',
            path.join(hosts.v10.upper, MISSKEY_PATHS.standin),
            '--root',
            hosts.v10.upper,
            '--config',
            MISSKEY_PATHS.config,
            '--port',
            String(hosts.v10.port),
          ],
          { allowFail: true, timeoutMs: 10_000 },
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /cannot start/);
      });
    });
  });
});
