// Who and where: the host name and the remote user after become.
import { FactsError } from '../errors.js';
import { defineFact, firstLine } from '../fact.js';

export interface IdentityFacts {
  hostname: string;
  /** Remote user after become (0 = root). */
  uid: number;
}

export default defineFact<IdentityFacts>({
  sections: {
    hostname: 'uname -n 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null',
    uid: 'id -u',
  },
  parse: (s) => {
    const uid = firstLine(s.get('uid'));
    if (!/^\d+$/.test(uid)) throw new FactsError('cannot read the remote user id (id -u)', uid);
    return { hostname: firstLine(s.get('hostname')), uid: Number(uid) };
  },
  placeholder: { hostname: 'preflight', uid: 0 },
  fixtures: { fedora36: { hostname: 'fedora1', uid: 0 }, debian11: { hostname: 'debian1', uid: 0 }, ubuntu2204: { hostname: 'ubuntu1', uid: 0 } },
});
