// The live progress line of `switchyard batch submit --wait` / `batch wait`: pure formatting plus
// a reporter that redraws one line on a terminal and prints a line now and then into logs (a CI
// log full of `\r` redraws every 500 ms is unreadable, so non-terminals get one line per interval).

export interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
}

export interface ProgressState {
  status: string;
  counts: BatchCounts;
  /** Requests finished per second, when known. */
  rate?: number;
  /** Seconds until every request is finished, when known. */
  etaSeconds?: number;
}

/** `45s`, `3m05s`, `1h02m`: compact enough for a progress line. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(perSecond: number): string {
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`;
}

/** Finished requests per second over a sliding window, so the ETA follows speed changes (a
 *  replica added, a model that slows down) instead of averaging them away over hours. */
export class RateMeter {
  private samples: { at: number; processed: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  add(at: number, processed: number): void {
    this.samples.push({ at, processed });
    // Keep one sample at or before the window start so the window is always fully spanned.
    while (this.samples.length > 2 && this.samples[1].at <= at - this.windowMs) this.samples.shift();
  }

  /** Undefined until two samples at different times exist. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at <= first.at) return undefined;
    return Math.max(0, last.processed - first.processed) / ((last.at - first.at) / 1000);
  }
}

export function etaSeconds(counts: BatchCounts, rate: number | undefined): number | undefined {
  const remaining = counts.total - counts.completed - counts.failed;
  if (remaining <= 0) return 0;
  return rate && rate > 0 ? remaining / rate : undefined;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** One progress line. `bar` adds a drawn bar and percentage (for terminals). */
export function formatProgress(p: ProgressState, options: { bar?: boolean; label?: string } = {}): string {
  const { total, completed, failed } = p.counts;
  const parts: string[] = [];
  if (options.label) parts.push(options.label);
  if (total === 0) {
    // Still validating: the gateway has not counted the requests yet.
    parts.push(p.status);
    return parts.join(' ');
  }
  const processed = completed + failed;
  if (options.bar) parts.push(`${bar(processed / total, 24)} ${String(Math.floor((processed / total) * 100)).padStart(3)}%`);
  parts.push(`${processed}/${total} (${completed} done, ${failed} failed)`);
  parts.push(p.rate === undefined ? '-/s' : formatRate(p.rate));
  parts.push(`ETA ${p.etaSeconds === undefined ? '?' : formatDuration(p.etaSeconds)}`);
  parts.push(p.status);
  return parts.join('  ');
}

export interface ReporterOptions {
  /** Redraw one line with `\r` (a terminal) instead of printing lines. */
  tty: boolean;
  /** Terminal width; a redrawn line must not wrap or `\r` no longer returns to its start. */
  columns?: number;
  /** Least time between printed lines when not a terminal. */
  intervalMs?: number;
  /** Starts each printed line (not the redrawn one, which follows a line naming the batch). */
  label?: string;
}

export class ProgressReporter {
  private readonly meter = new RateMeter();
  private drawnWidth = 0;
  private lastPrintedAt: number | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly options: ReporterOptions,
  ) {}

  update(status: string, counts: BatchCounts, now: number): void {
    this.meter.add(now, counts.completed + counts.failed);
    const rate = this.meter.rate();
    const state: ProgressState = { status, counts, rate, etaSeconds: etaSeconds(counts, rate) };
    if (this.options.tty) {
      // The label (the batch id) is on the line above already; a narrow terminal loses the bar
      // before it loses the counts and the ETA.
      const max = this.options.columns ? Math.max(10, this.options.columns - 1) : Infinity;
      let line = formatProgress(state, { bar: true });
      if (line.length > max) line = formatProgress(state).slice(0, max);
      this.write(`\r${line.padEnd(this.drawnWidth)}`);
      this.drawnWidth = line.length;
      return;
    }
    if (this.lastPrintedAt !== undefined && now - this.lastPrintedAt < (this.options.intervalMs ?? 5_000)) return;
    this.lastPrintedAt = now;
    this.write(formatProgress(state, { label: this.options.label }) + '\n');
  }

  /** Ends the redrawn line so what follows starts on a line of its own. */
  finish(): void {
    if (this.options.tty && this.drawnWidth > 0) this.write('\n');
    this.drawnWidth = 0;
  }
}
