// The request kernel's public surface: what stages, the server and batch workers use.

export { compose, NextCalledTwiceError, type Next, type Stage } from './compose.ts';
export { RequestContext, type ChunkHandler, type ContextInit, type Served } from './context.ts';
export { createKernel, type Kernel, type KernelOptions } from './kernel.ts';
export { CLIENT_DISCONNECTED, type EndHandler, type Ending, type RequestEnd } from './lifecycle.ts';
export type { PipelineResult } from './result.ts';
export { Slot } from './slot.ts';
export { respondWithStream, streamStarted } from './stream.ts';
