// fail: stop the host's run with a message (Ansible's fail module); used with `when` to refuse a
// playbook on hosts whose inventory does not say what it is meant for.
import { TaskError } from '../src/errors.js';
import { params, str, type Infer } from '../src/params-spec.js';
import { defineTask } from '../src/task.js';

const spec = params({ msg: str({ minLength: 1 }).doc('what is wrong and what to do') });

export default defineTask<Infer<typeof spec>>({
  name: 'fail',
  doc: 'Fail the host with a message (use it with when)',
  params: spec,
  example: "- fail: { msg: 'set retire: true for this host' }\n  when: not retire",
  probes: () => [],
  plan: (_ctx, p) => {
    throw new TaskError(p.msg);
  },
  apply: async () => ({ changed: false }),
});
