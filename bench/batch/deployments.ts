// What the gateway itself saw, every 500 ms, from its admin API (GET /admin/v1/deployments): its
// requests in flight to the replicas and the engines' scraped `num_requests_waiting`. Minus the
// interactive requests this benchmark has open, the in-flight count is the batch's concurrency,
// which shows what the spare-capacity controller (src/batch/capacity.ts) allowed.

import { request } from 'undici';

interface DeploymentStatus {
  in_flight: number;
  engine: { waiting?: number; running?: number } | null;
}

interface Sample {
  phase: string;
  inFlight: number;
  interactiveOpen: number;
  waitingAny: boolean;
  /** In flight on the busiest and the least busy replica (batch and interactive together). */
  busiest: number;
  idlest: number;
}

export interface ConcurrencyStats {
  phase: string;
  samples: number;
  /** Mean and max batch requests in flight (gateway in-flight minus open interactive requests). */
  batchMean: number;
  batchMax: number;
  /** Share of samples in which some engine reported waiting requests. */
  waitingShare: number;
  /** Mean over the samples of the busiest and the least busy replica's in-flight count. */
  busiestMean: number;
  idlestMean: number;
}

export class DeploymentSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly gatewayUrl: string,
    private readonly phase: () => string,
    private readonly interactiveOpen: () => number,
  ) {
    this.timer = setInterval(() => void this.sample(), 500);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  stats(phase: string): ConcurrencyStats {
    const mine = this.samples.filter((s) => s.phase === phase);
    const batch = mine.map((s) => Math.max(0, s.inFlight - s.interactiveOpen));
    return {
      phase,
      samples: mine.length,
      batchMean: batch.reduce((a, b) => a + b, 0) / Math.max(1, batch.length),
      batchMax: Math.max(0, ...batch),
      waitingShare: mine.filter((s) => s.waitingAny).length / Math.max(1, mine.length),
      busiestMean: mine.reduce((a, s) => a + s.busiest, 0) / Math.max(1, mine.length),
      idlestMean: mine.reduce((a, s) => a + s.idlest, 0) / Math.max(1, mine.length),
    };
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const phase = this.phase();
      const open = this.interactiveOpen();
      const res = await request(`${this.gatewayUrl}/admin/v1/deployments`);
      if (res.statusCode !== 200) {
        await res.body.dump();
        return;
      }
      const { data } = (await res.body.json()) as { data: DeploymentStatus[] };
      this.samples.push({
        phase,
        inFlight: data.reduce((s, d) => s + d.in_flight, 0),
        interactiveOpen: open,
        waitingAny: data.some((d) => (d.engine?.waiting ?? 0) > 0),
        busiest: Math.max(...data.map((d) => d.in_flight)),
        idlest: Math.min(...data.map((d) => d.in_flight)),
      });
    } catch {
      // A missed sample is not worth failing the benchmark for.
    } finally {
      this.busy = false;
    }
  }
}
