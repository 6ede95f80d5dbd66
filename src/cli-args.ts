// The parsed command line: what cli.ts hands to run.ts (a module of its own, so neither imports the other).

export interface CliArgs {
  playbook?: string;
  subcommand?: 'inventory' | 'doc';
  inventory: string;
  limit?: string;
  check: boolean;
  diff: boolean;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  forks: number;
  verbosity: number;
  listHosts: boolean;
  listTasks: boolean;
  json?: string;
  /** From the flag only; otherwise inventory vars / ssh config decide (default strict). */
  hostKeyPolicy?: 'strict' | 'accept-new' | 'off';
  sshConfig?: string;
  forceHandlers: boolean;
  host?: string;
  version: boolean;
  help: boolean;
}
