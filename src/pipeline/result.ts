// What the pipeline produced for a request: a JSON response, or a stream wrapped once by the kernel.

import type { CanonicalEmbeddingResponse, CanonicalResponse, CanonicalStream } from '../api/canonical.ts';

export type PipelineResult =
  | { readonly type: 'json'; readonly response: CanonicalResponse | CanonicalEmbeddingResponse }
  | { readonly type: 'stream'; readonly stream: CanonicalStream };
