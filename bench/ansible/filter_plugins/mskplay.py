# Filters for the benchmark's Ansible version of `site`: the few decisions mskplay's tasks make in
# code (policy comparison, Misskey meta fields), done on the controller so they cost no round trip.

import json
import re

from ansible.errors import AnsibleFilterError


def nginx_resolvers(addrs):
    """nginx `resolver` syntax: IPv6 addresses in brackets, space-separated."""
    if not isinstance(addrs, list):
        addrs = [addrs]
    return ' '.join('[%s]' % a if ':' in str(a) else str(a) for a in addrs)


KEYS_PER_MB = 8000  # nginx: a 1 MB keys zone holds about 8,000 keys
MEAN_OBJECT_BYTES = 128 * 1024


def nginx_size_bytes(v):
    m = re.match(r'^(\d+)([kKmMgG]?)$', str(v))
    if not m:
        raise AnsibleFilterError('not an nginx size: %r' % (v,))
    return int(m.group(1)) * {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[m.group(2).lower()]


def nginx_keys_zone(max_size):
    """keys_zone size for a cache of max_size, as mskplay's filter of the same name computes it."""
    keys = -(-nginx_size_bytes(max_size) // MEAN_OBJECT_BYTES)
    return '%dm' % max(1, -(-keys // KEYS_PER_MB))


def canonical_policy(value, key=None):
    """Normal form of a bucket policy: singletons as lists, '*' principal as {AWS: ['*']}, no Sid."""
    if key == 'Principal' and value == '*':
        return {'AWS': ['*']}
    if key in ('Action', 'Resource', 'AWS', 'NotAction', 'NotResource') and isinstance(value, str):
        return [value]
    if isinstance(value, list):
        items = [canonical_policy(x) for x in value]
        if key == 'Statement':
            return items
        return [json.loads(s) for s in sorted(json.dumps(x, sort_keys=True) for x in items)]
    if isinstance(value, dict):
        return {k: canonical_policy(value[k], k) for k in sorted(value) if k != 'Sid'}
    return value


def s3cmd_policy(info_stdout):
    """The policy printed by `s3cmd info`, in canonical form (None when there is none)."""
    lines = info_stdout.split('\n')
    start = next((i for i, l in enumerate(lines) if re.match(r'^\s+Policy:\s', l)), None)
    if start is None:
        return None
    parts = [re.sub(r'^\s+Policy:\s+', '', lines[start])]
    for line in lines[start + 1:]:
        if re.match(r'^\s{3}[A-Z][A-Za-z ]*:\s', line):
            break
        parts.append(line)
    text = '\n'.join(parts).strip()
    if text == 'none':
        return None
    try:
        return canonical_policy(json.loads(text))
    except ValueError:
        return text


def public_read_policy(bucket):
    return {
        'Version': '2012-10-17',
        'Statement': [{'Sid': 'AddPerm', 'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 's3:GetObject',
                       'Resource': 'arn:aws:s3:::%s/*' % bucket}],
    }


def misskey_meta_diff(current, base_url, bucket, prefix, endpoint, region, use_ssl, use_proxy, force_path_style,
                      access_key, secret_key, force=False):
    """The object-storage meta fields that differ from what they should be ({} when none).

    Refuses (like mskplay's misskey_meta) to move a baseUrl or storage target that is set elsewhere.
    """
    # The endpoint goes whole (host:port), as mskplay's misskey_meta sends it: Misskey's S3 client
    # reads only objectStorageEndpoint; objectStoragePort feeds only the default URL.
    want = {
        'useObjectStorage': True,
        'objectStorageBaseUrl': base_url,
        'objectStorageBucket': bucket,
        'objectStoragePrefix': prefix,
        'objectStorageEndpoint': endpoint,
        'objectStorageRegion': region or None,
        'objectStoragePort': None,
        'objectStorageAccessKey': access_key,
        'objectStorageSecretKey': secret_key,
        'objectStorageUseSSL': bool(use_ssl),
        'objectStorageUseProxy': bool(use_proxy),
        'objectStorageSetPublicRead': False,
        'objectStorageS3ForcePathStyle': bool(force_path_style),
    }
    diff = {k: v for k, v in want.items() if current.get(k) != v}
    if diff and not force:
        cur_url = current.get('objectStorageBaseUrl')
        if cur_url and cur_url != base_url:
            raise AnsibleFilterError('the drive baseUrl is already %s; changing it to %s breaks federated URLs' % (cur_url, base_url))
        if current.get('useObjectStorage') is True and (
                (current.get('objectStorageBucket') and current.get('objectStorageBucket') != bucket)
                or (current.get('objectStorageEndpoint') and current.get('objectStorageEndpoint') != want['objectStorageEndpoint'])):
            raise AnsibleFilterError('object storage already points at another bucket or endpoint')
    return diff


class FilterModule(object):
    def filters(self):
        return {
            'nginx_resolvers': nginx_resolvers,
            'nginx_keys_zone': nginx_keys_zone,
            'canonical_policy': canonical_policy,
            's3cmd_policy': s3cmd_policy,
            'public_read_policy': public_read_policy,
            'misskey_meta_diff': misskey_meta_diff,
        }
