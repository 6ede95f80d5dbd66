#!/usr/bin/python3
# CONTRACT FIXTURE - not Misskey. A stand-in for the parts of Misskey (v10 m544, v11 Areionskey,
# v12.117.1) that the project's plays touch, following /work/shared/reference/misskey.md:
#   v10:  drive config comes from .config/default.yml, read once at start (restart to change it);
#         admin/meta and admin/update-meta (admin) exist but know no object storage field.
# Which source lines each behaviour follows: README.md beside this file.
#   v11:  POST /api/meta {i, detail} shows the 13 object-storage fields to admins and moderators;
#         POST /api/admin/update-meta (admin or moderator); no admin/meta.
#   v12:  POST /api/admin/meta and /api/admin/update-meta, admin only.
# Meta is kept in a JSON state file (tests read it); it is re-read on every request (real Misskey
# caches it for up to 10 s). Python 3 stdlib only: the world's hosts have python3, not node.
# Request bodies are never logged: they carry tokens and keys.

import argparse
import datetime
import email.parser
import email.policy
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import local_drive  # noqa: E402 - beside this file

DEFAULT_CONFIG = '/etc/misskey-standin/config.json'

# The 13 object-storage columns of the `meta` table: name -> (kind, DB default).
OBJECT_STORAGE_FIELDS = {
    'useObjectStorage': ('bool', False),
    'objectStorageBaseUrl': ('str', None),
    'objectStorageBucket': ('str', None),
    'objectStoragePrefix': ('str', None),
    'objectStorageEndpoint': ('str', None),
    'objectStorageRegion': ('str', None),
    'objectStoragePort': ('int', None),
    'objectStorageAccessKey': ('str', None),
    'objectStorageSecretKey': ('str', None),
    'objectStorageUseSSL': ('bool', True),
    'objectStorageUseProxy': ('bool', True),
    'objectStorageSetPublicRead': ('bool', False),
    'objectStorageS3ForcePathStyle': ('bool', True),
}

ERR_AUTH = ('Authentication failed. Please ensure your token is correct.', 'AUTHENTICATION_FAILED',
            'b0a7f5f8-dc2f-4171-b91f-de88ad238e14')
ERR_CREDENTIAL = ('Credential required.', 'CREDENTIAL_REQUIRED', '1384574d-a912-4b81-8601-c7b1c4085df1')
ERR_DENIED = ('Access denied.', 'ACCESS_DENIED', '56f35758-7dd5-468b-8439-5d6fb8ec9b8e')
ERR_PARAM = ('Invalid param.', 'INVALID_PARAM', '3d81ceae-475f-4600-b2a8-2bc116157532')
ERR_NO_FILE = ('No such file.', 'NO_SUCH_FILE', 'b2a83e3a-fb0c-4c7e-9f6a-8b1ab7b0a5a6')
ERR_INTERNAL = ('Internal error occurred.', 'INTERNAL_ERROR', '5d37dbcb-891e-41ca-a3d6-e690c97775ac')

# Types a browser may show as they are (v12 src/const.ts FILE_TYPE_BROWSERSAFE; "no SVG"): any other
# upload is stored as application/octet-stream, with no extension on its key.
BROWSER_SAFE = {'image/png', 'image/gif', 'image/jpeg', 'image/webp', 'image/avif', 'image/apng', 'image/bmp', 'image/tiff',
                'image/x-icon', 'audio/opus', 'video/ogg', 'audio/ogg', 'application/ogg', 'video/quicktime', 'video/mp4',
                'audio/mp4', 'video/x-m4v', 'audio/x-m4a', 'video/3gpp', 'video/3gpp2', 'video/mpeg', 'audio/mpeg',
                'video/webm', 'audio/webm', 'audio/aac', 'audio/x-flac', 'audio/vnd.wave'}

# Cache-Control of every upload: v11/v12 add-file.ts upload(); v10 the same function in m544.
CACHE_CONTROL = {'v10': 'max-age=2592000, s-maxage=172800, immutable', 'v11': 'max-age=31536000, immutable',
                 'v12': 'max-age=31536000, immutable'}
# fetchMeta() keeps the meta row for 10 s in each process (v11/v12 misc/fetch-meta.ts).
META_CACHE_S = 10


def sniff_type(data):
    """The type by content, as Misskey's getFileInfo does (file-type: magic bytes), for the few the tests use."""
    if data.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'image/png', 'png'
    if data.startswith(b'\xff\xd8\xff'):
        return 'image/jpeg', 'jpg'
    if data[:6] in (b'GIF87a', b'GIF89a'):
        return 'image/gif', 'gif'
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'image/webp', 'webp'
    head = data[:1024].lstrip().lower()
    if head.startswith(b'<svg') or (head.startswith(b'<?xml') and b'<svg' in head):
        return 'image/svg+xml', 'svg'
    return 'application/octet-stream', None


def parse_multipart(content_type, raw):
    """Fields of a multipart/form-data body: name -> (filename or None, bytes)."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n' + raw)
    out = {}
    if not msg.is_multipart():
        return out
    for part in msg.iter_parts():
        name = part.get_param('name', header='content-disposition')
        if name:
            out[name] = (part.get_filename(), part.get_payload(decode=True) or b'')
    return out


class ApiError(Exception):
    def __init__(self, status, err, info=None):
        super().__init__(err[1])
        self.status, self.err, self.info = status, err, info

    def body(self):
        e = {'message': self.err[0], 'code': self.err[1], 'id': self.err[2], 'kind': 'client'}
        if self.info is not None:
            e['info'] = self.info
        return {'error': e}


# ---- a YAML subset: block mappings and sequences, plain/quoted scalars, comments ------------

class YamlError(ValueError):
    pass


def _strip_comment(s):
    quote = None
    for i, c in enumerate(s):
        if quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif c == '#' and (i == 0 or s[i - 1] in ' \t'):
            return s[:i].rstrip()
    return s.rstrip()


def _scalar(s, lineno):
    if s == '':
        return None
    if s[0] == '"':
        try:
            return json.loads(s)
        except ValueError:
            raise YamlError('line %d: bad double-quoted string' % lineno)
    if s[0] == "'":
        if len(s) < 2 or s[-1] != "'":
            raise YamlError('line %d: unterminated single-quoted string' % lineno)
        return s[1:-1].replace("''", "'")
    if s[0] in '|>':
        raise YamlError('line %d: block scalars are not supported by the stand-in' % lineno)
    if s[0] == '[' and s[-1] == ']':
        inner = s[1:-1].strip()
        return [_scalar(x.strip(), lineno) for x in inner.split(',')] if inner else []
    if s == '{}':
        return {}
    if s[0] in '[{&*!%@`':
        raise YamlError('line %d: unsupported YAML syntax: %s' % (lineno, s[:20]))
    low = s.lower()
    if low in ('true', 'false'):
        return low == 'true'
    if low in ('null', '~'):
        return None
    if re.fullmatch(r'[-+]?[0-9]+', s):
        return int(s)
    if re.fullmatch(r'[-+]?([0-9]*\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?', s):
        return float(s)
    return s


_KEY = re.compile(r'''^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#][^:]*?)\s*:(?:\s+(.*)|$)''')


def parse_yaml(text):
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        if '\t' in raw[:len(raw) - len(raw.lstrip())]:
            raise YamlError('line %d: tab in indentation' % n)
        body = _strip_comment(raw)
        if body.strip() in ('', '---'):
            continue
        lines.append([len(body) - len(body.lstrip(' ')), body.strip(), n])
    if not lines:
        return None
    pos = [0]

    def block(indent):
        first = lines[pos[0]]
        if first[1] == '-' or first[1].startswith('- '):
            return seq(indent)
        return mapping(indent)

    def mapping(indent):
        out = {}
        while pos[0] < len(lines):
            ind, text, n = lines[pos[0]]
            if ind < indent:
                break
            if ind > indent:
                raise YamlError('line %d: unexpected indentation' % n)
            if text == '-' or text.startswith('- '):
                break
            m = _KEY.match(text)
            if not m:
                raise YamlError('line %d: expected "key: value"' % n)
            key = _scalar(m.group(1), n)
            rest = m.group(2)
            pos[0] += 1
            if rest:
                # A long scalar may continue on more-indented lines (folded with spaces).
                while pos[0] < len(lines) and lines[pos[0]][0] > indent:
                    if _KEY.match(lines[pos[0]][1]):
                        raise YamlError('line %d: mapping values are not allowed here' % lines[pos[0]][2])
                    rest += ' ' + lines[pos[0]][1]
                    pos[0] += 1
                out[key] = _scalar(rest, n)
            elif pos[0] < len(lines) and lines[pos[0]][0] > indent:
                out[key] = block(lines[pos[0]][0])
            elif pos[0] < len(lines) and lines[pos[0]][0] == indent and (
                    lines[pos[0]][1] == '-' or lines[pos[0]][1].startswith('- ')):
                out[key] = seq(indent)
            else:
                out[key] = None
        return out

    def seq(indent):
        out = []
        while pos[0] < len(lines):
            ind, text, n = lines[pos[0]]
            if ind != indent or not (text == '-' or text.startswith('- ')):
                break
            item = text[1:].strip()
            if not item:
                pos[0] += 1
                out.append(block(lines[pos[0]][0]) if pos[0] < len(lines) and lines[pos[0]][0] > indent else None)
            elif _KEY.match(item) and not item.startswith(('"', "'")):
                # "- key: v" opens a mapping whose keys sit where "key" starts.
                lines[pos[0]] = [indent + len(text) - len(item), item, n]
                out.append(mapping(indent + len(text) - len(item)))
            else:
                pos[0] += 1
                out.append(_scalar(item, n))
        return out

    result = block(lines[0][0])
    if pos[0] != len(lines):
        raise YamlError('line %d: unexpected content' % lines[pos[0]][2])
    return result


# ---- state ----------------------------------------------------------------------------------

class Standin:
    def __init__(self, config_path, root, port_override):
        self.root = root
        with open(self.path(config_path) if root else config_path) as f:
            cfg = json.load(f)
        self.line = cfg['line']
        if self.line not in ('v10', 'v11', 'v12'):
            raise SystemExit('misskey stand-in: unknown line %r' % self.line)
        self.repo = self.path(cfg.get('repoDir', '/home/misskey/misskey'))
        self.state_file = self.path(cfg.get('stateFile', '/var/lib/misskey-standin/meta.json'))
        self.tokens_file = self.path(cfg.get('tokensFile', '/etc/misskey-standin/tokens.json'))
        self.files_file = os.path.join(os.path.dirname(self.state_file), 'drive-files.json')
        self.listen = cfg.get('listen', '127.0.0.1')
        with open(os.path.join(self.repo, 'package.json')) as f:
            self.version = json.load(f)['version']
        # Like Misskey: default.yml is read once, at start; a bad file stops the process.
        with open(os.path.join(self.repo, '.config', 'default.yml')) as f:
            self.yml = parse_yaml(f.read()) or {}
        if not isinstance(self.yml, dict):
            raise SystemExit('misskey stand-in: default.yml is not a mapping')
        self.port = port_override or int(self.yml.get('port') or 3000)
        self.url = self.yml.get('url')
        self.drive = self.yml.get('drive') if 'drive' in self.yml else {'storage': 'db'}
        self.started_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.lock = threading.Lock()

    def path(self, p):
        return os.path.join(self.root, p.lstrip('/')) if self.root else p

    def tokens(self):
        with open(self.tokens_file) as f:
            return json.load(f)

    def load_meta(self):
        meta = {k: d for k, (_, d) in OBJECT_STORAGE_FIELDS.items()}
        meta['name'] = None
        logs = []
        try:
            with open(self.state_file) as f:
                st = json.load(f)
            meta.update(st.get('meta', {}))
            logs = st.get('moderationLogs', [])
        except FileNotFoundError:
            pass
        return meta, logs

    def save_meta(self, meta, logs):
        tmp = self.state_file + '.tmp'
        # 0600 like a database file: the meta row holds the object-storage secret key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump({'meta': meta, 'moderationLogs': logs}, f, indent=2, sort_keys=True)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_file)

    # -- auth: `i` from the body; roles from the tokens file --
    def authenticate(self, body):
        i = body.get('i')
        if i is None or i == '':
            return None
        if isinstance(i, str):
            for role in ('admin', 'moderator', 'user'):
                if self.tokens().get(role) == i:
                    return role
        raise ApiError(403, ERR_AUTH)

    @staticmethod
    def require(role, need):
        if role is None:
            raise ApiError(401, ERR_CREDENTIAL)
        if need == 'admin' and role != 'admin':
            raise ApiError(400, ERR_DENIED, {'reason': 'You are not the admin.'})
        if need == 'moderator' and role not in ('admin', 'moderator'):
            raise ApiError(400, ERR_DENIED, {'reason': 'You are not a moderator.'})

    # -- endpoints; None = this line has no such endpoint (404 like Misskey's router) --
    def endpoint(self, name):
        common = {'meta': self.ep_meta, 'drive/files/create': self.ep_files_create, 'drive/files/delete': self.ep_files_delete}
        by_line = {
            # m544 has admin/meta and admin/update-meta (admin only), without object storage.
            'v10': {'admin/meta': self.ep_admin_meta, 'admin/update-meta': self.ep_update_meta_v10},
            'v11': {'admin/update-meta': self.ep_update_meta},
            'v12': {'admin/update-meta': self.ep_update_meta, 'admin/meta': self.ep_admin_meta},
        }
        return {**common, **by_line[self.line]}.get(name)

    def ep_meta(self, body, role):
        detail = body.get('detail', True)
        out = {'version': self.version, 'uri': (self.url or '').rstrip('/'), 'name': None}
        if self.line == 'v10':
            object_storage = isinstance(self.drive, dict) and self.drive.get('storage') == 'minio'
            out['features'] = {'objectStorage': object_storage}
            return out
        meta, _ = self.load_meta()
        out['name'] = meta.get('name')
        if detail:
            out['features'] = {'objectStorage': meta['useObjectStorage']}
        if self.line == 'v11' and role in ('admin', 'moderator'):
            for k in OBJECT_STORAGE_FIELDS:
                out[k] = meta[k]
        return out

    def ep_admin_meta(self, body, role):
        self.require(role, 'admin')
        if self.line == 'v10':
            # m544 answers with the instance's settings, none of them about object storage.
            return {'version': self.version, 'uri': (self.url or '').rstrip('/'), 'name': None}
        meta, _ = self.load_meta()
        out = {'version': self.version, 'uri': (self.url or '').rstrip('/'), 'name': meta.get('name')}
        for k in OBJECT_STORAGE_FIELDS:
            out[k] = meta[k]
        return out

    def ep_update_meta_v10(self, body, role):
        # m544 knows none of the object storage params: cafy ignores unknown ones, nothing is
        # stored, and the answer is 204 as for any update.
        self.require(role, 'admin')
        return None

    def ep_update_meta(self, body, role):
        self.require(role, 'moderator' if self.line == 'v11' else 'admin')
        changes = {}
        for k, (kind, _) in OBJECT_STORAGE_FIELDS.items():
            if k not in body:
                continue
            v = body[k]
            ok = (isinstance(v, bool) if kind == 'bool'
                  else v is None or isinstance(v, str) if kind == 'str'
                  else v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                     and (self.line == 'v11' or float(v).is_integer())))
            if not ok:
                raise ApiError(400, ERR_PARAM, {'param': k, 'reason': 'must be %s%s' % (
                    kind, '' if kind == 'bool' else ' or null')})
            changes[k] = v
        with self.lock:
            meta, logs = self.load_meta()
            meta.update(changes)
            logs.append({'type': 'updateMeta', 'role': role,
                         'createdAt': datetime.datetime.now(datetime.timezone.utc).isoformat()})
            self.save_meta(meta, logs)
        return None

    # -- drive: uploads to object storage, the way add-file.ts does (the parts the plays depend on) --
    def storage(self):
        """The object storage settings uploads use now, in one shape, or None (local storage)."""
        if self.line == 'v10':
            d = self.drive if isinstance(self.drive, dict) else {}
            if d.get('storage') != 'minio':
                return None
            c = d.get('config') or {}
            # m544 services/drive/s3.ts: endpoint as written (host[:port]; config.port is not passed).
            return {'bucket': d.get('bucket'), 'prefix': d.get('prefix'), 'baseUrl': d.get('baseUrl'), 'endpoint': c.get('endPoint'),
                    'port': None, 'useSSL': c.get('useSSL'), 'region': c.get('region'), 'accessKey': c.get('accessKey'),
                    'secretKey': c.get('secretKey'), 'pathStyle': c.get('s3ForcePathStyle') is not False,
                    'publicRead': c.get('setPublicRead') is True}
        now = time.monotonic()
        if not getattr(self, '_meta_at', None) or now - self._meta_at > META_CACHE_S:
            self._meta, _ = self.load_meta()
            self._meta_at = now
        m = self._meta
        if not m['useObjectStorage']:
            return None
        return {'bucket': m['objectStorageBucket'], 'prefix': m['objectStoragePrefix'], 'baseUrl': m['objectStorageBaseUrl'],
                'endpoint': m['objectStorageEndpoint'], 'port': m['objectStoragePort'], 'useSSL': m['objectStorageUseSSL'],
                'region': m['objectStorageRegion'], 'accessKey': m['objectStorageAccessKey'], 'secretKey': m['objectStorageSecretKey'],
                'pathStyle': m['objectStorageS3ForcePathStyle'], 'publicRead': m['objectStorageSetPublicRead']}

    @staticmethod
    def s3_client(st):
        # services/drive/s3.ts: endpoint exactly as configured (the port field is not passed), sslEnabled
        # from useSSL, region or none, path style unless set off. botocore plays aws-sdk v2 here.
        import boto3
        from botocore.config import Config
        scheme = 'https' if st['useSSL'] else 'http'
        return boto3.client('s3', endpoint_url='%s://%s' % (scheme, st['endpoint']), aws_access_key_id=st['accessKey'],
                            aws_secret_access_key=st['secretKey'], region_name=st['region'] or 'us-east-1',
                            verify='/etc/ssl/certs/ca-certificates.crt' if st['useSSL'] else False,
                            config=Config(signature_version='s3v4', s3={'addressing_style': 'path' if st['pathStyle'] else 'virtual'}))

    def load_files(self):
        try:
            with open(self.files_file) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def save_files(self, files):
        tmp = self.files_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(files, f, indent=2, sort_keys=True)
        os.replace(tmp, self.files_file)

    def ep_files_create(self, body, role):
        if role is None:
            raise ApiError(401, ERR_CREDENTIAL)
        up = body.get('__files', {}).get('file')
        if not up:
            raise ApiError(400, ERR_PARAM, {'param': 'file', 'reason': 'required'})
        filename, data = up
        name = body.get('name') or filename or 'untitled'
        st = self.storage()
        mime, _ = sniff_type(data)
        # add-file.ts save(): the extension of the name, else one for a few image types; none at
        # all for a type that is not browser-safe.
        m = re.search(r'\.([a-zA-Z0-9_-]+)$', name)
        by_type = {'image/jpeg': '.jpg', 'image/png': '.png', 'image/webp': '.webp', 'image/apng': '.apng'}
        if self.line != 'v12':
            by_type['video/mp4'] = '.mp4'  # v11 getExt()
        ext = m.group(0) if m else by_type.get(mime, '')
        # v12 only: a type that is not browser-safe gets no extension and goes as octet-stream
        # (v11's upload() sends the detected type as it is: an SVG stays image/svg+xml).
        safe = mime in BROWSER_SAFE or self.line != 'v12'
        if not safe:
            ext = ''
        if st is None:
            return self.save_local(name, data, mime if safe else 'application/octet-stream', ext)
        base = st['baseUrl'] or '%s://%s%s/%s' % ('https' if st['useSSL'] else 'http', st['endpoint'],
                                                  ':%d' % st['port'] if st['port'] else '', st['bucket'])
        key = '%s/%s%s' % (st['prefix'], uuid.uuid4(), ext)
        # upload(): a type that is not browser-safe goes as application/octet-stream; inline disposition.
        params = {'Bucket': st['bucket'], 'Key': key, 'Body': data, 'ContentType': mime if safe else 'application/octet-stream',
                  'CacheControl': CACHE_CONTROL[self.line], 'ContentDisposition': 'inline; filename="%s"' % name.replace('"', '')}
        if st['publicRead']:
            params['ACL'] = 'public-read'
        try:
            self.s3_client(st).put_object(**params)
        except Exception as e:  # noqa: BLE001 - the upload error is the answer, as in Misskey
            sys.stdout.write('upload failed: %s\n' % type(e).__name__)
            raise ApiError(500, ERR_INTERNAL, {'reason': 'upload to object storage failed: %s' % type(e).__name__})
        fid = uuid.uuid4().hex[:10]
        rec = {'id': fid, 'createdAt': datetime.datetime.now(datetime.timezone.utc).isoformat(), 'name': name,
               'type': params['ContentType'], 'md5': hashlib.md5(data).hexdigest(), 'size': len(data),
               'url': '%s/%s' % (base, key), 'accessKey': key, 'bucket': st['bucket']}
        with self.lock:
            files = self.load_files()
            files[fid] = rec
            self.save_files(files)
        return {k: rec[k] for k in ('id', 'createdAt', 'name', 'type', 'md5', 'size', 'url')}

    def save_local(self, name, data, ctype, ext):
        """No object storage: the bytes go to <repo>/files (local_drive.py), served under /files."""
        fid, key, url = local_drive.save(self.line, self.repo, self.url, data, ext)
        rec = {'id': fid, 'createdAt': datetime.datetime.now(datetime.timezone.utc).isoformat(), 'name': name, 'type': ctype,
               'md5': hashlib.md5(data).hexdigest(), 'size': len(data), 'url': url, 'storedInternal': True, 'localKey': key,
               # v11/v12 look a local file up by accessKey; v10 by its id.
               'accessKey': key if self.line != 'v10' else None}
        with self.lock:
            files = self.load_files()
            files[fid] = rec
            self.save_files(files)
        return {k: rec[k] for k in ('id', 'createdAt', 'name', 'type', 'md5', 'size', 'url')}

    def ep_files_delete(self, body, role):
        if role is None:
            raise ApiError(401, ERR_CREDENTIAL)
        with self.lock:
            files = self.load_files()
            rec = files.get(body.get('fileId'))
            if rec is None:
                raise ApiError(400, ERR_NO_FILE)
            # delete-file.ts: the object (or the local file) goes with the drive file (with the
            # storage settings of now).
            st = self.storage()
            if rec.get('storedInternal'):
                local_drive.delete(self.repo, rec['localKey'])
            elif st is not None:
                self.s3_client(st).delete_object(Bucket=st['bucket'], Key=rec['accessKey'])
            del files[rec['id']]
            self.save_files(files)
        return None

    def standin_config(self):
        """GET /api/stand-in/config: what this process read at start (shows that a restart happened)."""
        drive = json.loads(json.dumps(self.drive)) if self.line == 'v10' else None
        if isinstance(drive, dict) and isinstance(drive.get('config'), dict):
            sk = drive['config'].get('secretKey')
            if isinstance(sk, str):
                drive['config']['secretKey'] = 'sha256:' + hashlib.sha256(sk.encode()).hexdigest()
        return {'fixture': 'misskey-standin', 'line': self.line, 'version': self.version, 'pid': os.getpid(),
                'startedAt': self.started_at, 'port': self.port, 'url': self.url, 'drive': drive}


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        server_version = 'misskey-standin'
        sys_version = ''

        def log_message(self, fmt, *args):
            sys.stdout.write('%s\n' % (fmt % args))
            sys.stdout.flush()

        def send(self, status, obj=None, text=None):
            if obj is not None:
                data = json.dumps(obj).encode()
                ctype = 'application/json; charset=utf-8'
            else:
                data = (text or '').encode()
                ctype = 'text/plain; charset=utf-8'
            self.send_response(status)
            if status != 204:
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
            self.send_header('Cache-Control', 'private, max-age=0, must-revalidate')
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        def do_GET(self):
            if self.path == '/api/stand-in/config':
                return self.send(200, app.standin_config())
            if self.path.startswith('/files/'):
                status, headers, data = local_drive.serve(app.line, app.repo, app.load_files(), self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 204:
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                return self.wfile.write(data) if status != 204 else None
            if self.path == '/':
                data = '<!DOCTYPE html><title>Misskey</title><p>Misskey stand-in (contract fixture)</p>\n'
                self.send_response(200)
                self.send_header('Content-Type', 'text/html; charset=utf-8')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                return self.wfile.write(data.encode())
            self.send(404, text='Not Found')

        def do_POST(self):
            m = re.fullmatch(r'/api/([a-z0-9/_-]+)', self.path)
            ep = app.endpoint(m.group(1).replace('_', '-')) if m else None
            length = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(length) if length else b''
            if ep is None:
                return self.send(404, text='Not Found')
            ctype = self.headers.get('Content-Type') or ''
            if ctype.startswith('multipart/form-data'):
                fields = parse_multipart(ctype, raw)
                body = {k: v.decode('utf-8', 'replace') for k, (fn, v) in fields.items() if fn is None}
                body['__files'] = {k: v for k, v in fields.items() if v[0] is not None}
            else:
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    return self.send(400, text='invalid JSON')
            if not isinstance(body, dict):
                return self.send(400, text='invalid JSON')
            try:
                role = app.authenticate(body)
                res = ep(body, role)
            except ApiError as e:
                return self.send(e.status, e.body())
            if res is None:
                return self.send(204)
            self.send(200, res)

    return Handler


def main():
    ap = argparse.ArgumentParser(description='Misskey stand-in (contract fixture)')
    ap.add_argument('--config', default=DEFAULT_CONFIG)
    ap.add_argument('--root', default='', help='prefix for every path in the config (tests)')
    ap.add_argument('--port', type=int, default=0, help='override the port from default.yml (tests)')
    args = ap.parse_args()
    try:
        app = Standin(args.config, args.root, args.port)
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write('misskey stand-in: cannot start: %s\n' % e)
        sys.exit(1)
    srv = ThreadingHTTPServer((app.listen, app.port), make_handler(app))
    sys.stdout.write('Misskey stand-in (%s, %s) listening on %s:%d\n' % (app.line, app.version, app.listen, app.port))
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == '__main__':
    main()
