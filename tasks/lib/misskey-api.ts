// Calling Misskey's API from the host with curl: the JSON body (with the token `i`) goes on stdin.
import { sh } from '../../src/connection/quote.js';
import type { CmdState } from '../../src/task.js';
import type { DriveSettings } from './misskey.js';

export interface MetaFields {
  useObjectStorage: boolean;
  objectStorageBaseUrl: string | null;
  objectStorageBucket: string | null;
  objectStoragePrefix: string | null;
  objectStorageEndpoint: string | null;
  objectStorageRegion: string | null;
  objectStoragePort: number | null;
  objectStorageAccessKey: string | null;
  objectStorageSecretKey: string | null;
  objectStorageUseSSL: boolean;
  objectStorageUseProxy: boolean;
  objectStorageSetPublicRead: boolean;
  objectStorageS3ForcePathStyle: boolean;
}

/**
 * The 13 meta fields for these settings. The endpoint goes whole (host:port): Misskey's S3 client
 * takes only objectStorageEndpoint (v11/v12 services/drive/s3.ts); objectStoragePort feeds only the
 * default URL (add-file.ts, used when baseUrl is empty), so it stays null, or that URL would carry
 * the port twice.
 */
export function metaFields(d: DriveSettings): MetaFields {
  return {
    useObjectStorage: true,
    objectStorageBaseUrl: d.baseUrl,
    objectStorageBucket: d.bucket,
    objectStoragePrefix: d.prefix,
    objectStorageEndpoint: d.endpoint,
    objectStorageRegion: d.region,
    objectStoragePort: null,
    objectStorageAccessKey: d.accessKey,
    objectStorageSecretKey: d.secretKey,
    objectStorageUseSSL: d.useSSL,
    objectStorageUseProxy: d.useProxy,
    objectStorageSetPublicRead: d.setPublicRead,
    objectStorageS3ForcePathStyle: d.s3ForcePathStyle,
  };
}

/** POST the JSON on stdin to <api>/api/<endpoint>; prints the body, then the HTTP status on its own line. */
export function apiCallCommand(apiUrl: string, endpoint: string): string {
  return sh`curl -sS --max-time 15 -X POST -H 'Content-Type: application/json' --data-binary @- -w '\n%{http_code}' ${`${apiUrl}/api/${endpoint}`}`;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  raw: string;
  transportError?: string;
}

export function parseApiAnswer(r: CmdState): ApiAnswer {
  const out = r.stdout.replace(/\n$/, '');
  const nl = out.lastIndexOf('\n');
  const status = Number(out.slice(nl + 1)) || 0;
  const raw = nl >= 0 ? out.slice(0, nl) : '';
  let body: unknown = null;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    body = raw;
  }
  return { status, body, raw, transportError: r.code !== 0 ? r.stderr.trim() || `curl exit ${r.code}` : undefined };
}

export function describeApiError(endpoint: string, a: ApiAnswer): string {
  if (a.transportError && a.status === 0) return `cannot reach the Misskey API (${endpoint}): ${a.transportError}`;
  const err = (a.body as { error?: { code?: string; message?: string; info?: { reason?: string } } } | null)?.error;
  if (err?.code === 'AUTHENTICATION_FAILED') return `the Misskey token was rejected (${endpoint}: AUTHENTICATION_FAILED): check misskey_token`;
  if (err?.code === 'CREDENTIAL_REQUIRED') return `the Misskey API wants a token (${endpoint}: CREDENTIAL_REQUIRED)`;
  if (err?.code === 'ACCESS_DENIED')
    return `the token's user may not do this (${endpoint}: ACCESS_DENIED${err.info?.reason ? `: ${err.info.reason}` : ''}): use an admin's token`;
  if (a.status === 404) return `the Misskey API has no ${endpoint} (HTTP 404): is misskey_version right?`;
  return `Misskey API ${endpoint} answered HTTP ${a.status}${err?.code ? ` ${err.code}` : ''}${err?.message ? `: ${err.message}` : ''}`;
}
