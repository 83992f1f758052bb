/**
 * Input errors: everything the user can fix in a trace, a system preamble or a command line.
 * The CLI prints them as `file:line:column: message` and exits with status 2 (README.md, exit codes).
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    /** File the error is in, when there is one. */
    public file?: string,
    /** 1-based line. */
    public line?: number,
    /** 1-based character column. */
    public column?: number,
    /** Trace column name the error is about (used to locate `column` when it is not known). */
    public field?: string,
  ) {
    super(message);
  }

  /** `file:line:col: message`, omitting the parts that are unknown. */
  format(): string {
    let where = this.file === '' ? '""' : (this.file ?? '');
    if (this.line !== undefined) where += `${where ? ':' : 'line '}${this.line}`;
    if (this.line !== undefined && this.column !== undefined) where += `:${this.column}`;
    return where ? `${where}: ${this.message}` : this.message;
  }
}
