// Errors the CLI knows how to print. InputError = bad input found before any host was touched.

export interface SourcePos {
  file: string;
  line?: number; // 1-based
  col?: number; // 1-based
}

export function formatPos(pos?: SourcePos): string {
  if (!pos) return '';
  let s = pos.file;
  if (pos.line) s += `:${pos.line}`;
  if (pos.line && pos.col) s += `:${pos.col}`;
  return s;
}

/** Bad inventory, playbook, vars or flags. Always says where and what to do. */
export class InputError extends Error {
  constructor(
    message: string,
    public readonly pos?: SourcePos,
    public readonly hint?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
  override toString(): string {
    const where = formatPos(this.pos);
    return `${where ? where + ': ' : ''}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

/** A host could not be reached or authenticated. */
export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** A task failed on a host; message is already masked of secrets by whoever builds it. */
export class TaskError extends Error {
  /** Set when the failure put back the files of this rollback group: their changes did not happen. */
  rolledBack?: string;
  constructor(
    message: string,
    public readonly detail?: string,
  ) {
    super(message);
    this.name = 'TaskError';
  }
}
