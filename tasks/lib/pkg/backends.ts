// Package managers behind one interface: how to ask which packages are installed (read-only, one
// name per line) and how to install the missing ones. A host whose package manager has no backend
// here is refused by name, never handled by a guess.

import { sh } from '../../../src/connection/quote.js';

export interface PackageBackend {
  /** Read-only query printing the names of those of `pkgs` that are installed, one per line. */
  installed(pkgs: string[]): string;
  install(pkgs: string[], updateCache: boolean): string;
}

const apt: PackageBackend = {
  // The format string is a constant (dpkg's own ${...} fields); only the names are values.
  installed: (pkgs) => "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' " + sh`-- ${pkgs}` + ` 2>/dev/null | awk '$2=="installed"{print $1}'`,
  install: (pkgs, update) => {
    const install = sh`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- ${pkgs}`;
    // A host whose package lists were never fetched cannot install: update first in that case.
    return update ? `apt-get update -q && ${install}` : `${install} || { apt-get update -q && ${install}; }`;
  },
};

const dnf: PackageBackend = {
  installed: (pkgs) => sh`rpm -q --qf '%{NAME}\n' -- ${pkgs} 2>/dev/null | grep -v 'is not installed' || true`,
  install: (pkgs, update) => (update ? 'dnf makecache -q && ' : '') + sh`dnf install -y -q -- ${pkgs}`,
};

export const BACKENDS: Record<string, PackageBackend> = { apt, dnf };

export function backendFor(pkgMgr: string): PackageBackend | undefined {
  return Object.hasOwn(BACKENDS, pkgMgr) ? BACKENDS[pkgMgr] : undefined;
}
