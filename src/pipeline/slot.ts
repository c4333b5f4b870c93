// Typed per-request state a stage declares for itself. The kernel knows no capability, so a stage
// that must carry something from its start to the request's end (a lease, a reservation) keeps it
// in a slot of its own instead of a module-level WeakMap keyed by the context.

let nextIndex = 0;

/** A key into a context's slots; make one per kind of state, at module level. */
export class Slot<T> {
  /** Position in the context's slot array: slots are read by index, not by a map lookup. */
  readonly index = nextIndex++;
  /** For diagnostics only. */
  readonly name: string;
  declare readonly _type: T;

  constructor(name: string) {
    this.name = name;
  }
}
