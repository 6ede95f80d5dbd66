// package: distro packages present, through the host's package manager (tasks/lib/pkg/backends.ts).
import { TaskError } from '../src/errors.js';
import { anyOf, bool, list, params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState } from '../src/task.js';
import { BACKENDS, backendFor } from './lib/pkg/backends.js';

const name = () => str({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9.+_-]*$' });
const spec = params({
  name: anyOf(name(), list(name(), { minItems: 1 })).doc('a package name or a list of them'),
  update_cache: bool().optional().doc('refresh the package lists before installing'),
});
type Params = Infer<typeof spec>;

const names = (p: Params) => (Array.isArray(p.name) ? p.name : [p.name]);

function backend(pkgMgr: string) {
  const b = backendFor(pkgMgr);
  if (!b) throw new TaskError(`no package backend for '${pkgMgr}' (known: ${Object.keys(BACKENDS).join(', ')})`);
  return b;
}

export default defineTask({
  name: 'package',
  doc: "Install distro packages with the host's package manager (apt, dnf)",
  params: spec,
  example: '- package: { name: [nginx, s3cmd] }',
  // An unknown package manager: the probe answers nothing, the plan refuses with the reason.
  probes: (p, facts) => (backendFor(facts.pkg_mgr) ? [{ kind: 'cmd', cmd: backend(facts.pkg_mgr).installed(names(p)) }] : []),
  plan: (ctx, p, [r]) => {
    const b = backend(ctx.facts.pkg_mgr);
    const have = new Set(
      (r as CmdState).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    const missing = names(p).filter((n) => !have.has(n));
    if (!missing.length) return { action: 'ok' };
    return {
      action: 'change',
      summary: `install ${missing.join(' ')}`,
      steps: [{ cmd: b.install(missing, p.update_cache ?? false), what: `installing ${missing.join(' ')}` }],
    };
  },
});
