// Time for the engine. The engine works in *model time* (milliseconds on the modelled GPU); a
// clock maps model time onto the host:
//  - RealTimeClock(scale): model time runs `1/scale` times faster than wall time (1 = real time,
//    0.1 = ten times faster). Steps are scheduled with timers.
//  - ImmediateClock: "zero-latency mode": every step runs on the next turn of the event loop
//    (setImmediate), model time advances only by computed step durations.
//  - ManualClock: virtual time for tests and offline runs; nothing happens until it is driven.

export interface EngineClock {
  /** Current model time in ms. */
  now(): number;
  /** Calls `fn` once model time reaches `atMs` (as soon as possible if it already has). */
  schedule(atMs: number, fn: () => void): void;
  /** Cancels the pending scheduled call, if any. The engine has at most one at a time. */
  cancel(): void;
  /**
   * How far (model ms) the engine may run behind `now()` and still catch up by running steps
   * back to back; beyond that it resynchronises (the host was too busy to keep model time).
   */
  readonly maxLagMs: number;
}

/** Wall-time delay below which a timer is not worth it (Node timers have 1 ms granularity). */
const MIN_TIMER_MS = 1;
/** Wall-clock lag tolerated before the engine resynchronises with the clock. */
const MAX_WALL_LAG_MS = 10;

export class RealTimeClock implements EngineClock {
  readonly maxLagMs: number;
  private readonly origin = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(private readonly timeScale: number) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new Error(`RealTimeClock needs a positive time scale, got ${timeScale}`);
    this.maxLagMs = MAX_WALL_LAG_MS / timeScale;
  }

  now(): number {
    return (performance.now() - this.origin) / this.timeScale;
  }

  schedule(atMs: number, fn: () => void): void {
    this.cancel();
    const wallDelay = (atMs - this.now()) * this.timeScale;
    if (wallDelay < MIN_TIMER_MS) {
      // Already due (or nearly): run next turn, letting I/O in first.
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        fn();
      });
    } else {
      // Timers may fire up to 1 ms early after truncation; rounding up keeps tokens from leaving
      // before their step has "finished".
      this.timer = setTimeout(() => {
        this.timer = undefined;
        fn();
      }, Math.ceil(wallDelay));
    }
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}

export class ImmediateClock implements EngineClock {
  readonly maxLagMs = Infinity;
  private t = 0;
  private immediate: NodeJS.Immediate | undefined;

  now(): number {
    return this.t;
  }

  schedule(atMs: number, fn: () => void): void {
    this.cancel();
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      if (atMs > this.t) this.t = atMs;
      fn();
    });
  }

  cancel(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }
}

interface PendingCall {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Discrete-event virtual time. Besides the engine's step timer, callers may queue their own events
 * (`at`), e.g. request arrivals, and then drive everything with `run`.
 */
export class ManualClock implements EngineClock {
  readonly maxLagMs = Infinity;
  private t = 0;
  private seq = 0;
  private engineCall: PendingCall | undefined;
  private readonly events: PendingCall[] = [];

  now(): number {
    return this.t;
  }

  schedule(atMs: number, fn: () => void): void {
    this.engineCall = { at: Math.max(atMs, this.t), seq: this.seq++, fn };
  }

  cancel(): void {
    this.engineCall = undefined;
  }

  /** Queues `fn` at model time `atMs` (not before now). */
  at(atMs: number, fn: () => void): void {
    const call = { at: Math.max(atMs, this.t), seq: this.seq++, fn };
    let i = this.events.length;
    while (i > 0 && (this.events[i - 1].at > call.at || (this.events[i - 1].at === call.at && this.events[i - 1].seq > call.seq))) i--;
    this.events.splice(i, 0, call);
  }

  /** Runs the earliest pending call; false when nothing is pending. */
  step(): boolean {
    const ext = this.events[0];
    const eng = this.engineCall;
    if (!ext && !eng) return false;
    let call: PendingCall;
    if (eng && (!ext || eng.at < ext.at || (eng.at === ext.at && eng.seq < ext.seq))) {
      call = eng;
      this.engineCall = undefined;
    } else {
      call = this.events.shift()!;
    }
    this.t = call.at;
    call.fn();
    return true;
  }

  /**
   * Runs pending calls until none are left, `until` returns true, or `maxEvents` ran. Returns the
   * number of calls run.
   */
  run(options: { until?: () => boolean; maxEvents?: number } = {}): number {
    const max = options.maxEvents ?? 10_000_000;
    let n = 0;
    while (n < max && !options.until?.() && this.step()) n++;
    return n;
  }
}
