import { TaskError } from '../errors.js';

/** The host cannot be handled (unsupported OS, unreadable output). */
export class FactsError extends TaskError {
  constructor(message: string, detail?: string) {
    super(message, detail);
    this.name = 'FactsError';
  }
}
