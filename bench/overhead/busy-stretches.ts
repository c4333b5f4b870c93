// Where the event loop was held: the longest runs of consecutive busy samples in a .cpuprofile
// (anything but "(idle)"), each with the functions that ran most in it. A p99 set by one long
// task (a flush, a sweep, a collection) shows here, where averages over the whole profile hide it.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

export interface BusyStretch {
  /** ms since the profile started. */
  startMs: number;
  durationMs: number;
  /** Functions by inclusive share of the stretch's samples, highest first. */
  top: { name: string; share: number }[];
}

const frameName = (f: CpuProfile['nodes'][number]['callFrame']) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/') || '(native)'}:${f.lineNumber + 1}`;

/** Stretches of at least `minMs` that start at or after `fromMs` (ms since the profile started). */
export function busyStretches(profile: CpuProfile, minMs: number, limit: number, fromMs = 0): BusyStretch[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const runs: { from: number; to: number; startUs: number; us: number }[] = [];
  let t = 0;
  let open: { from: number; startUs: number; us: number } | undefined;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    const busy = !idle.has(profile.samples[i]);
    if (busy) {
      open ??= { from: i, startUs: t, us: 0 };
      open.us += dt;
    } else if (open) {
      runs.push({ ...open, to: i });
      open = undefined;
    }
  }
  if (open) runs.push({ ...open, to: profile.samples.length });
  return runs
    .filter((r) => r.us >= minMs * 1000 && r.startUs >= fromMs * 1000)
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((r) => {
      const counts = new Map<string, number>();
      for (let i = r.from; i < r.to; i++) {
        const seen = new Set<string>();
        for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
          const name = frameName(byId.get(id)!.callFrame);
          if (name.startsWith('(root)') || seen.has(name)) continue;
          seen.add(name);
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      }
      const n = r.to - r.from;
      const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, c]) => ({ name, share: c / n }));
      return { startMs: r.startUs / 1000, durationMs: r.us / 1000, top };
    });
}

/** Profile length in ms. */
export function profileMs(profile: CpuProfile): number {
  return profile.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
}

export function formatStretches(stretches: BusyStretch[]): string {
  return stretches
    .map((s) => `${s.durationMs.toFixed(1).padStart(7)} ms at ${(s.startMs / 1000).toFixed(2)} s\n${s.top.map((f) => `           ${(100 * f.share).toFixed(0).padStart(3)} %  ${f.name}`).join('\n')}`)
    .join('\n');
}
