// nginx sizes and the cache's key zone. nginx keeps every cached file's key in shared memory:
// "one megabyte zone can store about 8 thousand keys" (ngx_http_proxy_module, proxy_cache_path).
// A drive file is an original, a webpublic copy and a thumbnail (10-30 KB): we take 128 KiB as
// the mean object, so a cache of max_size holds about max_size / 128 KiB files. A zone much smaller
// than that silently evicts entries long before max_size or inactive are reached.

export const KEYS_PER_MB = 8000;
export const MEAN_OBJECT_BYTES = 128 * 1024;
/** How much smaller than needed a configured zone may be before preflight refuses it. */
export const KEYS_ZONE_SLACK = 4;

export function nginxSizeBytes(v: string): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) return null;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2].toLowerCase()];
}

/** The keys_zone size (in m) for a cache of this max_size. */
export function keysZoneFor(maxSize: string): string {
  const bytes = nginxSizeBytes(maxSize);
  if (bytes === null) throw new Error(`not an nginx size: ${JSON.stringify(maxSize)}`);
  return `${Math.max(1, Math.ceil(Math.ceil(bytes / MEAN_OBJECT_BYTES) / KEYS_PER_MB))}m`;
}

/** Why this keys zone is too small for max_size (with the arithmetic), or null. */
export function keysZoneProblem(keysSize: string, maxSize: string): string | null {
  const zone = nginxSizeBytes(keysSize);
  const max = nginxSizeBytes(maxSize);
  if (zone === null || max === null) return null;
  const holds = Math.floor((zone / 1024 ** 2) * KEYS_PER_MB);
  const needs = Math.ceil(max / MEAN_OBJECT_BYTES);
  if (holds * KEYS_ZONE_SLACK >= needs) return null;
  return (
    `proxy_cache_keys_size ${keysSize} holds about ${holds} keys (${KEYS_PER_MB} per MB), but proxy_cache_max_size ${maxSize} ` +
    `fits about ${needs} files of ${MEAN_OBJECT_BYTES / 1024} KiB: nginx would evict files long before the cache is full; ` +
    `use proxy_cache_keys_size: ${keysZoneFor(maxSize)} (or leave it unset: it is derived from proxy_cache_max_size)`
  );
}
