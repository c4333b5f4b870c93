// Deterministic embedding vectors: a seeded Gaussian vector per input, normalised to unit length.
// Equal inputs give equal vectors; a `dimensions` request keeps the first components of the full
// vector and renormalises (the Matryoshka convention), so shortened vectors stay consistent.

import { Rng } from './util/rng.ts';

export function embeddingVector(seed: number, key: string | readonly number[], fullDim: number, dimensions: number): Float32Array {
  const rng = typeof key === 'string' ? Rng.from(seed, 'embedding', key) : Rng.from(seed, 'embedding-ids', ...key.slice(0, 8192));
  const full = new Float64Array(fullDim);
  for (let i = 0; i < fullDim; i++) full[i] = rng.normal();
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += full[i] * full[i];
  norm = Math.sqrt(norm) || 1;
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = full[i] / norm;
  return out;
}

/** Base64 of the vector as little-endian float32, what `encoding_format: "base64"` returns. */
export function toBase64(vector: Float32Array): string {
  const buf = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i], i * 4);
  return buf.toString('base64');
}
