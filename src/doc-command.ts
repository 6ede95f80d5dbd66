// `doc [TASK]`: needs only the task library, no inventory.
import { InputError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { didYouMean } from './suggest.js';
import { taskDoc, taskList } from './ui/doc.js';
import { TASKS } from '../tasks/index.js';

export function printDoc(name: string | undefined): number {
  if (!name) {
    process.stdout.write(taskList(TASKS));
    return EXIT.OK;
  }
  const def = TASKS[name];
  if (!def) throw new InputError(`no task named '${name}'`, undefined, didYouMean(name, Object.keys(TASKS)) || 'npm run play -- doc lists them');
  process.stdout.write(taskDoc(def));
  return EXIT.OK;
}
