export const USAGE = `usage: npm run play -- PLAYBOOK [flags]        (or: mskplay PLAYBOOK [flags])
       npm run play -- inventory --host NAME    print one host's merged vars as JSON
       npm run play -- doc [TASK]               the tasks, or one task's parameters (as ansible-doc)

PLAYBOOK is a name in playbooks/ (site, storage, proxy, misskey, ...) or a path to a .yml file.

  -i, --inventory FILE        inventory (Ansible YAML; default ./inventory.yml or $MSKPLAY_INVENTORY)
  -l, --limit PATTERN         only these hosts (Ansible patterns: a:b  a,b  !a  &g  web*  ~regex  g[0:2]  @file)
  -C, --check                 plan only: report what would change (drift), change nothing
  -D, --diff                  show unified diffs of file changes (secrets masked)
  -t, --tags LIST             only tasks with these tags (comma-separated; repeatable)
      --skip-tags LIST        skip tasks with these tags
  -e, --extra-vars VARS       k=v pairs, JSON/YAML mapping, or @file.yml (repeatable; wins over everything)
  -f, --forks N               hosts in parallel (default 50)
  -v, -vv, -vvv               more output: actions, facts and command logs, probe batches
      --list-hosts            print the hosts each play would run on, and exit
      --list-tasks            print each play's tasks and handlers, and exit
      --json FILE             write a machine-readable report (- for stdout, then no live output)
      --host-key-checking P   strict (default: unknown or changed host keys fail), accept-new, off
      --ssh-config FILE       OpenSSH client config to honour (default ~/.ssh/config)
      --force-handlers        run notified handlers even on hosts where a task failed
      --version, -h/--help

exit codes: 0 ok | 2 a task failed | 3 check mode found drift | 4 a host was unreachable
            5 bad input or usage (nothing ran) | 1 internal error`;
