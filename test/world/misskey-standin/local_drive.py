# CONTRACT FIXTURE - not Misskey. The stand-in's local drive: uploads kept on disk (the state before
# object storage) and Misskey's file server under /files, per line. Sources in README.md.
#   v12: key <uuid> (no extension), file <repo>/files/<key>, url <config.url>/files/<key>
#   v11: key <uuid>, file <repo>/files/<key>, url <config.url>/files/<key>/<key><ext>
#   v10: storage 'fs': key <uuid>, file <repo>/files/<key>; the url is built from the drive
#        file's id (a Mongo ObjectID): <config.url>/files/<id>/<id><ext>?web
# Served: /files/<key> and /files/<key>/<anything> (v10: /files/<id>...), looked up by key (v10 id).

import os
import re
import uuid
from urllib.parse import urlsplit

# A 1x1 PNG: the body of v11/v12's 404 for an unknown key (Misskey sends its dummy.png).
DUMMY_PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
    '1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082')

CACHE_FILE = {'v10': 'max-age=2592000, s-maxage=172800, immutable', 'v11': 'max-age=31536000, immutable',
              'v12': 'max-age=31536000, immutable'}


def origin(url):
    """config.url as Misskey keeps it: the origin, no trailing slash (config/load.ts)."""
    u = urlsplit(url or '')
    return '%s://%s' % (u.scheme, u.netloc) if u.scheme and u.netloc else (url or '').rstrip('/')


def files_dir(repo):
    # InternalStorage: <repo root>/files, the file named by its key.
    return os.path.join(repo, 'files')


def save(line, repo, url, data, ext):
    """Store an upload locally; returns (id, key, url) as add-file.ts save() would leave them."""
    key = str(uuid.uuid4())
    d = files_dir(repo)
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, '.%s.tmp' % key)
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, os.path.join(d, key))
    base = origin(url)
    if line == 'v10':
        fid = uuid.uuid4().hex[:24]  # an ObjectID: 24 hex digits
        return fid, key, '%s/files/%s/%s%s?web' % (base, fid, fid, ext)
    fid = uuid.uuid4().hex[:10]
    if line == 'v11':
        return fid, key, '%s/files/%s/%s%s' % (base, key, key, ext)
    return fid, key, '%s/files/%s' % (base, key)


def delete(repo, key):
    try:
        os.unlink(os.path.join(files_dir(repo), key))
    except FileNotFoundError:
        pass


def serve(line, repo, files, path):
    """Misskey's answer to GET <path> under /files: (status, headers, body) or None (not /files)."""
    m = re.fullmatch(r'/files/([^/?]+)(?:/[^?]*)?(?:\?(.*))?', path)
    if not m:
        return None
    key = m.group(1)
    if line == 'v10':
        # send-drive-file.ts: not an ObjectID, or no such file: 404 with max-age=3600 and no body
        # image; a file that is not stored locally (object storage): 404 as well.
        if not re.fullmatch(r'[0-9a-f]{24}', key):
            return 404, {'Cache-Control': 'max-age=3600'}, b'Not Found'
        rec = files.get(key)
        if rec is None or not rec.get('storedInternal'):
            return 404, {'Cache-Control': 'max-age=3600'}, b'Not Found'
    else:
        # Looked up by accessKey (or the thumbnail/webpublic keys): unknown -> 404 + dummy.png.
        rec = next((r for r in files.values() if r.get('accessKey') == key), None)
        if rec is None:
            return 404, {'Content-Type': 'image/png', 'Cache-Control': 'max-age=86400'}, DUMMY_PNG
        if not rec.get('storedInternal'):
            return 204, {'Cache-Control': 'max-age=86400'}, b''
    try:
        with open(os.path.join(files_dir(repo), rec['localKey']), 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return 404, {'Cache-Control': 'max-age=3600'}, b'Not Found'
    name = rec['name'].replace('"', '')
    return 200, {'Content-Type': rec['type'], 'Cache-Control': CACHE_FILE[line],
                 'Content-Disposition': 'inline; filename="%s"' % name}, data
