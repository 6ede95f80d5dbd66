// s3cmd helpers: command lines (config file given explicitly), `s3cmd info` parsing, and the
// public-read policy with a comparison that treats equivalent JSON as equal.

import { sh } from '../../src/connection/quote.js';
import { params, path, str } from '../../src/params-spec.js';

export const S3CMD_MISSING = 127;
/** s3cmd's EX_NOTFOUND (404) and EX_CONFIG. */
export const S3_NOT_FOUND = 12;
export const S3_CONFIG_ERROR = 78;

/** Run s3cmd as root with the given config; never with keys on the command line. */
export function s3cmd(config: string, args: string): string {
  return sh`s3cmd --config=${config} --no-progress` + ' ' + args;
}

export function bucketUri(bucket: string): string {
  return `s3://${bucket}`;
}

export function infoCommand(config: string, bucket: string): string {
  // A missing s3cmd or config is a normal state before the first run: report it by exit code.
  return (
    `if ! command -v s3cmd >/dev/null 2>&1; then exit ${S3CMD_MISSING}; fi; ` +
    sh`if [ ! -r ${config} ]; then echo "no s3cmd config at ${config}" >&2; exit ${S3_CONFIG_ERROR}; fi; ` +
    s3cmd(config, sh`info ${bucketUri(bucket)}`)
  );
}

/** The policy text printed by `s3cmd info` ("none" when the bucket has none). */
export function policyFromInfo(out: string): string | null {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => /^\s+Policy:\s/.test(l));
  if (i < 0) return null;
  const parts = [lines[i].replace(/^\s+Policy:\s+/, '')];
  for (let j = i + 1; j < lines.length && !/^\s{3}[A-Z][A-Za-z ]*:\s/.test(lines[j]); j++) parts.push(lines[j]);
  const text = parts.join('\n').trim();
  return text === 'none' ? null : text;
}

export function publicReadPolicy(bucket: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'AddPerm', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
  };
}

/** Normal form for comparing policies: singletons as lists, "*" principal as {AWS:["*"]}, sorted keys. */
export function canonicalPolicy(value: unknown): unknown {
  const norm = (v: unknown, key?: string): unknown => {
    if (key === 'Principal' && v === '*') return { AWS: ['*'] };
    if ((key === 'Action' || key === 'Resource' || key === 'AWS' || key === 'NotAction' || key === 'NotResource') && typeof v === 'string') return [v];
    if (Array.isArray(v)) {
      const items = v.map((x) => norm(x));
      return key === 'Statement'
        ? items
        : items
            .map((x) => JSON.stringify(x))
            .sort()
            .map((x) => JSON.parse(x));
    }
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if (k !== 'Sid') out[k] = norm((v as Record<string, unknown>)[k], k);
      return out;
    }
    return v;
  };
  return norm(value);
}

export function samePolicy(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonicalPolicy(a)) === JSON.stringify(canonicalPolicy(b));
}

export const bucketParam = () => str({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }).doc('S3 bucket name (3-63 lower-case letters, digits, dots, dashes)');

/** Params of the tasks that act on one bucket with s3cmd: the bucket and s3cmd's config file. */
export const bucketTaskParams = params({ bucket: bucketParam(), config: path().doc("s3cmd's config file (keys, endpoint)") });

/** `s3cmd ls [-r] s3://bucket/prefix/` lines (DATE TIME SIZE s3://bucket/prefix/key) -> key -> size. */
export function parseLsRecursive(out: string, bucket: string, prefix: string): Map<string, number> {
  const m = new Map<string, number>();
  const pre = `${bucketUri(bucket)}/${prefix}/`;
  for (const l of out.split('\n')) {
    const x = /^\S+\s+\S+\s+(\d+)\s+(s3:\/\/\S+)$/.exec(l.trim());
    if (x && x[2]!.startsWith(pre)) m.set(x[2]!.slice(pre.length), Number(x[1]));
  }
  return m;
}
