// selinux_label: files nginx serves from a local directory carry a type nginx may read. Where the
// policy's own rule for the path already gives that type (anything under /var/www is
// httpd_sys_content_t on Fedora), a wrong label is only restored (restorecon); elsewhere a rule is
// added first (semanage fcontext). Hosts without SELinux, or a path not there yet: skipped.
// Outputs read: matchpathcon(8) -n (the context the policy gives the path) and stat(1) %C (its
// current context), both "user:role:type:level".
import { sh } from '../src/connection/quote.js';
import { params, path, str } from '../src/params-spec.js';
import { defineTask, type CmdState, type Step } from '../src/task.js';

const typeOf = (context: string) => context.trim().split(':')[2] ?? '';

export default defineTask({
  name: 'selinux_label',
  doc: 'Give a directory (and what is in it) an SELinux type, by the policy rule (semanage fcontext + restorecon)',
  params: params({
    path: path().doc('the directory'),
    type: str({ pattern: '^[a-z0-9_]+_t$' }).default('httpd_sys_content_t').doc('the SELinux type it must carry'),
  }),
  example: '- selinux_label: { path: /var/www/s3.ex.social, type: httpd_sys_content_t }',
  probes: (p, facts) =>
    facts.selinux === 'disabled'
      ? []
      : [{ kind: 'cmd', cmd: sh`if [ -e ${p.path} ]; then matchpathcon -n -- ${p.path}; stat -c %C -- ${p.path}; else exit 3; fi` }],
  plan: (ctx, p, [r]) => {
    if (ctx.facts.selinux === 'disabled') return { action: 'skip', msg: 'SELinux is not enabled on this host' };
    const out = r as CmdState;
    if (out.code === 3) return { action: 'skip', msg: `${p.path} does not exist (yet): nothing to label` };
    const [rule = '', current = ''] = out.stdout.split('\n');
    const steps: Step[] = [];
    if (typeOf(rule) !== p.type) steps.push({ cmd: sh`semanage fcontext -a -t ${p.type} ${`${p.path}(/.*)?`}`, what: `semanage fcontext for ${p.path}` });
    if (typeOf(current) !== p.type || steps.length) steps.push({ cmd: sh`restorecon -R -- ${p.path}`, what: `restorecon ${p.path}` });
    if (!steps.length) return { action: 'ok', msg: `${p.path} is ${p.type}` };
    return {
      action: 'change',
      summary: `${p.path}: ${typeOf(current) || '?'} -> ${p.type}${typeOf(rule) !== p.type ? ` (new policy rule; the policy said ${typeOf(rule) || '?'})` : ''}`,
      steps,
    };
  },
});
