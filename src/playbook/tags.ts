// --tags / --skip-tags against the tags the selected plays have. A tag no task has selects
// nothing: with --tags the run does nothing and a cron check says "no drift" for ever; with
// --skip-tags it skips nothing. Either way it is almost always a typo, refused as bad input.

import { InputError } from '../errors.js';
import { closest } from '../suggest.js';
import type { Playbook } from './load.js';

/** Ansible's special tags: meaningful without any task carrying them. */
export const SPECIAL_TAGS = ['all', 'always', 'never', 'tagged', 'untagged'];

export function playbookTags(playbook: Playbook): string[] {
  const tags = new Set<string>();
  for (const play of playbook.plays) for (const t of [...play.tasks, ...play.handlers]) for (const tag of t.tags) tags.add(tag);
  return [...tags].sort();
}

export function checkTags(playbook: Playbook, file: string, filter: { tags: string[]; skipTags: string[] }): void {
  const known = playbookTags(playbook);
  const all = new Set([...known, ...SPECIAL_TAGS]);
  for (const [flag, list] of [
    ['--tags', filter.tags],
    ['--skip-tags', filter.skipTags],
  ] as const) {
    for (const tag of list) {
      if (all.has(tag)) continue;
      const near = closest(tag, known);
      throw new InputError(
        `${flag} ${tag}: no task of ${file} has the tag '${tag}'${near ? `; did you mean '${near}'?` : ''}`,
        undefined,
        `the tags of this playbook: ${known.join(', ') || '(none)'}; and Ansible's special ones: ${SPECIAL_TAGS.join(', ')}`,
      );
    }
  }
}
