/**
 * The model's error: an event impossible in the current state (a schedule of a task that is not
 * alive, a bind of an undeclared device, ...). It names the trace row and the column at fault; the
 * replay engine turns it into an input error naming the file, line and column.
 */
export class EventError extends Error {
  override readonly name = 'EventError';
  constructor(
    message: string,
    /** 1-based trace row of the event. */
    public row: number,
    /** Trace column the error is about, when there is one. */
    public field?: string,
  ) {
    super(message);
  }
}
