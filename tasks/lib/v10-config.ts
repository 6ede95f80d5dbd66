// Misskey v10 keeps its drive settings in .config/default.yml. We edit the YAML document, not the
// text at large: only the top-level `drive:` entry is replaced, every other byte stays as it was.
// The admin's previous drive lines are kept as comments above ours (as the guide does by hand).

import { Document, LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { DriveSettings } from './misskey.js';

export const MANAGED_MARK = '# mskplay: managed drive settings (object storage). Edits are reported as drift and replaced.';
export const PREVIOUS_MARK = '# mskplay: the drive settings before the move to object storage, kept as comments:';

export interface V10Drive {
  storage?: string;
  bucket?: string;
  prefix?: string;
  baseUrl?: string;
  config?: Record<string, unknown>;
}

export type V10Parse = { ok: true; drive: V10Drive | undefined; range?: [number, number] } | { ok: false; error: string; line?: number };

export function parseV10(text: string): V10Parse {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    return { ok: false, error: e.message.split('\n')[0], line: lc.linePos(e.pos[0]).line };
  }
  if (!isMap(doc.contents)) return { ok: false, error: 'the file is not a YAML mapping' };
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'drive');
  if (!pair) return { ok: true, drive: undefined };
  const keyStart = (pair.key as { range?: [number, number, number] }).range![0];
  const valueEnd = (pair.value as { range?: [number, number, number] } | null)?.range?.[2] ?? (pair.key as { range: [number, number, number] }).range[2];
  const drive = (doc.toJS() as Record<string, unknown>).drive as V10Drive | undefined;
  return { ok: true, drive: drive ?? undefined, range: [keyStart, valueEnd] };
}

/** The `drive:` mapping Misskey v10 reads for object storage (port folded into endPoint). */
export function v10Drive(d: DriveSettings): V10Drive {
  const config: Record<string, unknown> = { endPoint: d.endpoint };
  if (d.region) config.region = d.region;
  config.useSSL = d.useSSL;
  config.accessKey = d.accessKey;
  config.secretKey = d.secretKey;
  if (!d.useProxy) config.useProxy = false;
  config.setPublicRead = d.setPublicRead;
  config.s3ForcePathStyle = d.s3ForcePathStyle;
  return { storage: 'minio', bucket: d.bucket, prefix: d.prefix, baseUrl: d.baseUrl, config };
}

/** Local storage (Misskey's files/ directory): what a retire sets; v10 reads nothing else of drive then. */
export const LOCAL_DRIVE: V10Drive = { storage: 'fs' };

function renderDrive(drive: V10Drive): string {
  const doc = new Document({ drive });
  return doc.toString({ indent: 2, defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN', lineWidth: 0 });
}

const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );

export function sameDrive(a: V10Drive | undefined, b: V10Drive): boolean {
  return canon(a ?? null) === canon(b);
}

/** New file text with `drive:` set to `want`. `parsed` must be a successful parseV10 of `text`. */
export function withDrive(text: string, parsed: Extract<V10Parse, { ok: true }>, want: V10Drive): string {
  const block = renderDrive(want);
  if (!parsed.range) {
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return `${text}${sep}\n${MANAGED_MARK}\n${block}`;
  }
  const lineStart = text.lastIndexOf('\n', parsed.range[0] - 1) + 1;
  let end = parsed.range[1];
  if (end > 0 && text[end - 1] !== '\n') {
    const nl = text.indexOf('\n', end);
    end = nl < 0 ? text.length : nl + 1;
  }
  const before = text.slice(0, lineStart);
  const old = text.slice(lineStart, end);
  const managed = before.endsWith(MANAGED_MARK + '\n');
  if (managed) return before + block + text.slice(end);
  const commented = old
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '#' : `#${l}`))
    .join('\n');
  return `${before}${PREVIOUS_MARK}\n${commented}\n${MANAGED_MARK}\n${block}${text.slice(end)}`;
}
