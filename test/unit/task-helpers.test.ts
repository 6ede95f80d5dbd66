// The check-mode nginx -t sandbox script (tasks/lib/nginx-check.ts), and the smoke test's verdict.
import assert from 'node:assert/strict';
import type { PlannedWrite } from '../../src/task.js';
import { certificatePaths, nginxErrors, sandboxScript } from '../../tasks/lib/nginx-check.js';
import { judgeSmoke } from '../../tasks/s3_smoke.js';
import { judgeFetch, smokePng, uploadCommand, uploadUrlProblem } from '../../tasks/misskey_smoke.js';
import crypto from 'node:crypto';
import zlib from 'node:zlib';

describe('nginx -t sandbox (check mode)', () => {
  it("the sandbox script: overlays over /etc, /var and the candidates' top dirs, contents in base64, a stand-in for a missing certificate", () => {
    const files: [string, PlannedWrite][] = [
      [
        '/etc/nginx/sites-available/s3.conf',
        {
          content: 'server {\n    ssl_certificate /etc/letsencrypt/live/s3/fullchain.pem;\n    ssl_certificate_key /etc/letsencrypt/live/s3/privkey.pem;\n}\n',
          group: 'nginx',
        },
      ],
      ['/srv/nginx/extra.conf', { content: "add_header X 'y';\n", group: 'nginx' }],
      ['/var/cache/nginx/p', { dir: true }],
      ['/etc/nginx/sites-enabled/s3.conf', { link: '/etc/nginx/sites-available/s3.conf', group: 'nginx' }],
    ];
    const script = sandboxScript(files);
    assert.deepEqual(
      [...script.matchAll(/-o lowerdir=([^,\s]+),/g)].map((m) => m[1]),
      ['/etc', '/srv', '/var'],
    );
    assert.ok(script.indexOf('mount -t tmpfs') < script.indexOf('mount -t overlay'), 'the tmpfs first: every upper dir lives in it');
    assert.ok(!script.includes("add_header X 'y'"), 'file contents only as base64 in heredocs');
    assert.match(script, /mkdir -p \/var\/cache\/nginx\/p\n/);
    assert.match(script, /ln -s \/etc\/nginx\/sites-available\/s3.conf \/etc\/nginx\/sites-enabled\/s3.conf/);
    assert.deepEqual(certificatePaths(files), ['/etc/letsencrypt/live/s3/fullchain.pem', '/etc/letsencrypt/live/s3/privkey.pem']);
    assert.match(script, /nginx -t <\/dev\/null\n$/);
  });
  it("names nginx's first file:line", () => {
    const e = nginxErrors('nginx: [emerg] unknown directive "x" in /etc/nginx/conf.d/a.conf:7\nnginx: configuration file /etc/nginx/nginx.conf test failed\n');
    assert.equal(e.where, '/etc/nginx/conf.d/a.conf:7');
    assert.equal(e.lines.length, 2);
  });
});

describe('s3_smoke verdict', () => {
  it('wants 200 MISS then 200 HIT with the same bytes', () => {
    assert.equal(judgeSmoke('GET1 200 MISS\nBODY1 same\nGET2 200 HIT\nBODY2 same\nURL u\nDEL ok\n').ok, true);
    assert.match(judgeSmoke('GET1 200 MISS\nBODY1 same\nGET2 200 MISS\nBODY2 same\nURL u\n').message, /X-Cache MISS, MISS/);
    assert.match(judgeSmoke('GET1 403 MISS\nBODY1 differs\nGET2 403 HIT\nBODY2 differs\nURL u\n').message, /HTTP 403, 403/);
  });
});

describe('misskey_smoke', () => {
  it('makes a valid one-pixel PNG of the colour given (its CRCs and pixel check out)', () => {
    const png = smokePng(Buffer.from([1, 2, 3]));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const idatLen = png.readUInt32BE(33);
    assert.equal(png.subarray(37, 41).toString(), 'IDAT');
    assert.deepEqual([...zlib.inflateSync(png.subarray(41, 41 + idatLen))], [0, 1, 2, 3]);
    assert.notDeepEqual(smokePng(), smokePng(), 'a new colour every run');
  });
  it('keeps the token out of the command (stdin only) and judges the two fetches', () => {
    const png = smokePng();
    const cmd = uploadCommand('http://127.0.0.1:3000', png);
    assert.match(cmd, /IFS= read -r tok/);
    assert.match(cmd, /-F 'i=<-'/);
    const sum = crypto.createHash('sha256').update(png).digest('hex');
    const url = 'https://s3.x/misskey/a.png';
    assert.equal(judgeFetch(`GET1 200 MISS image/png ${sum}\nGET2 200 HIT image/png ${sum}\n`, url, png).ok, true);
    assert.match(
      judgeFetch(`GET1 200 MISS application/octet-stream ${sum}\nGET2 200 HIT application/octet-stream ${sum}\n`, url, png).message,
      /want image\/png/,
    );
    assert.match(judgeFetch(`GET1 200 MISS image/png 00\nGET2 200 HIT image/png 00\n`, url, png).message, /differ from the bytes uploaded/);
    assert.match(judgeFetch(`GET1 502 MISS none ${sum}\nGET2 502 MISS none ${sum}\n`, url, png).message, /HTTP 502, 502/);
  });
});

describe('misskey_smoke: where Misskey put the upload, by its URL', () => {
  const base = 'https://ex.social';
  it("takes an object's URL, one segment under baseUrl/prefix with the PNG's extension", () => {
    assert.equal(uploadUrlProblem('https://ex.social/files/0ff07d91-74b7-4cac-b961-2a1bd8ca7ce4.png', base, 'files'), null);
    assert.equal(uploadUrlProblem('https://s3.ex.social/misskey/abc.png', 'https://s3.ex.social', 'misskey'), null);
  });
  it("tells a local file's URL under /files from an object's (layout C), for each line's shape", () => {
    for (const local of [
      'https://ex.social/files/0ff07d91-74b7-4cac-b961-2a1bd8ca7ce4', // v12
      'https://ex.social/files/c08a6a8f-6701-489a-bacd-ae46aa0b5f42/c08a6a8f-6701-489a-bacd-ae46aa0b5f42.png', // v11
      'https://ex.social/files/5f0c0c0c0c0c0c0c0c0c0c0c/5f0c0c0c0c0c0c0c0c0c0c0c.png?web', // v10
    ])
      assert.match(uploadUrlProblem(local, base, 'files') ?? '', /a local file's, not an object's under https:\/\/ex\.social\/files\//, local);
  });
  it('names a URL outside baseUrl/prefix', () => {
    assert.match(
      uploadUrlProblem('https://ewr1.vultrobjects.com/b/misskey/x.png', 'https://s3.ex.social', 'misskey') ?? '',
      /not under https:\/\/s3\.ex\.social\/misskey\//,
    );
  });
});
