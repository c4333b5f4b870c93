// Preloaded into a gateway under investigation (`node --import bench/overhead/alloc-sampler.mjs`):
// samples allocations, collected objects included (unlike --heap-prof, which keeps only what is
// still alive at exit), and writes the profile to $ALLOC_PROFILE_OUT when the process exits.
// Plain JavaScript: it loads before tsx. Used by profile.ts with BENCH_ALLOC=1.

import process from 'node:process';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const out = process.env.ALLOC_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.once('exit', () => {
    // An in-process session answers synchronously, so this works inside the exit handler.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}
