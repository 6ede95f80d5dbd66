// The package manager's program is there (a host without it can still run the other tasks).
import { defineFact, keyValues } from '../fact.js';

export interface PackageFacts {
  /** Oddities that do not stop the run (e.g. the package manager is missing). */
  warnings?: string[];
}

export default defineFact<PackageFacts>({
  commands: ['apt-get', 'dnf'],
  sections: {},
  parse: (s, os) => {
    const tool = os.pkg_mgr === 'dnf' ? 'dnf' : 'apt-get';
    return keyValues(s.get('commands'))[tool] ? {} : { warnings: [`${tool} not found on the host: package tasks will fail`] };
  },
  placeholder: {},
  fixtures: { fedora36: {}, debian11: {}, ubuntu2204: {} },
});
