// Preloaded into a gateway under investigation (`node --import bench/overhead/alloc-sampler.mjs`):
// samples allocations, collected objects included (unlike --heap-prof, which keeps only what is
// still alive at exit), and writes the profile to $ALLOC_PROFILE_OUT when the process exits.
// Plain JavaScript: it loads before tsx. Used by profile.ts with BENCH_ALLOC=1.

import process from 'node:process';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { setTimeout } from 'node:timers';

const out = process.env.ALLOC_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  // ALLOC_LIVE_AFTER_MS: sample only what is still on the heap that long after start (garbage
  // promoted to the old generation stays there until the next mark-compact, so this shows what
  // survives scavenges), written then rather than at exit.
  const liveAfter = Number(process.env.ALLOC_LIVE_AFTER_MS ?? 0);
  const collected = liveAfter > 0 ? {} : { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
  session.post('HeapProfiler.startSampling', { samplingInterval: 1024, ...collected });
  const write = () =>
    // An in-process session answers synchronously, so this works inside the exit handler.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(out, JSON.stringify(result.profile));
    });
  if (liveAfter > 0) setTimeout(write, liveAfter).unref();
  else process.once('exit', write);
}
