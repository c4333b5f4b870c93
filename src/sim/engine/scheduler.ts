// Picks what one engine step computes: vLLM V1's FCFS scheduler with chunked prefill.
//
// 1. Running requests first, in admission order. Each gets the tokens it still needs (1 when
//    decoding, the rest of its prompt when prefilling) within the step's token budget, and KV
//    blocks for them. When the cache has no free block, the most recently admitted running
//    request is preempted: its blocks are released (their cached contents stay reusable) and it
//    goes back to the front of the waiting queue to be recomputed later.
// 2. Then waiting requests, in arrival order, while the budget and max_num_seqs allow. A request's
//    prefix-cache hit is looked up first (full blocks only, never its last token); it is admitted
//    only if the blocks for the tokens it computes now can be allocated. Otherwise it, and
//    everything behind it, keeps waiting: a full KV cache makes requests queue.

import type { EngineParams } from '../profiles.ts';
import type { KvCache } from './kv-cache.ts';
import type { EngineRequest } from './request.ts';

export interface ScheduledItem {
  req: EngineRequest;
  /** Tokens computed for this request in the step. */
  numNew: number;
}

export interface Batch {
  items: ScheduledItem[];
  prefillTokens: number;
  decodeSeqs: number;
  decodeContextTokens: number;
}

export interface SchedulerCounters {
  /** Prompt tokens looked up in the prefix cache at admission (vLLM counts tokens). */
  prefixQueries: number;
  /** Of those, tokens found cached. */
  prefixHits: number;
  preemptions: number;
}

export class Scheduler {
  readonly running: EngineRequest[] = [];
  private waiting: EngineRequest[] = [];
  private waitingHead = 0;
  private waitingLive = 0;
  readonly counters: SchedulerCounters = { prefixQueries: 0, prefixHits: 0, preemptions: 0 };

  constructor(
    private readonly params: EngineParams,
    private readonly kv: KvCache,
  ) {}

  get numWaiting(): number {
    return this.waitingLive;
  }

  get numRunning(): number {
    return this.running.length;
  }

  enqueue(req: EngineRequest): void {
    this.waiting.push(req);
    this.waitingLive++;
  }

  /** Removes a request from whichever queue holds it and releases its blocks. */
  remove(req: EngineRequest): void {
    if (req.state === 'waiting') this.waitingLive--; // dropped lazily from the array
    else if (req.state === 'running') {
      const i = this.running.indexOf(req);
      if (i !== -1) this.running.splice(i, 1);
    }
    this.kv.release(req.blocks);
    req.blocks = [];
    req.state = 'finished';
  }

  private peekWaiting(): EngineRequest | undefined {
    while (this.waitingHead < this.waiting.length && this.waiting[this.waitingHead].state !== 'waiting') this.waitingHead++;
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
    return this.waiting[this.waitingHead];
  }

  private pushWaitingFront(req: EngineRequest): void {
    if (this.waitingHead > 0) this.waiting[--this.waitingHead] = req;
    else this.waiting.unshift(req);
    this.waitingLive++;
  }

  private preempt(req: EngineRequest): void {
    this.kv.release(req.blocks);
    req.blocks = [];
    req.numComputed = 0;
    req.numRegistered = 0;
    req.state = 'waiting';
    req.preemptions++;
    this.counters.preemptions++;
    this.pushWaitingFront(req);
  }

  /** Allocates blocks so `req` can hold `tokens` tokens; false if the cache cannot. */
  private grow(req: EngineRequest, tokens: number): boolean {
    const need = this.kv.blocksFor(tokens) - req.blocks.length;
    return need <= 0 || this.kv.allocate(need, req.blocks);
  }

  schedule(nowMs: number): Batch {
    const batch: Batch = { items: [], prefillTokens: 0, decodeSeqs: 0, decodeContextTokens: 0 };
    let budget = this.params.maxNumBatchedTokens;
    let preempted = false;

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const req = this.running[i];
      const numNew = Math.min(req.numTokens - req.numComputed, budget);
      let selfPreempted = false;
      while (!this.grow(req, req.numComputed + numNew)) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        preempted = true;
        if (victim === req) {
          selfPreempted = true;
          break;
        }
      }
      if (selfPreempted) break;
      this.add(batch, req, numNew);
      budget -= numNew;
    }

    // vLLM admits nothing new in a step that had to preempt.
    if (!preempted) {
      while (budget > 0 && this.running.length < this.params.maxNumSeqs) {
        const req = this.peekWaiting();
        if (!req) break;
        const numNew = this.admit(req, budget);
        if (numNew === 0) break;
        this.waitingHead++;
        this.waitingLive--;
        req.state = 'running';
        if (req.firstScheduledMs < 0) req.firstScheduledMs = Math.max(nowMs, req.arrivalMs);
        this.running.push(req);
        this.add(batch, req, numNew);
        budget -= numNew;
      }
    }
    return batch;
  }

  /** Looks up the prefix cache and allocates for `req`; returns tokens to compute now, 0 if it must wait. */
  private admit(req: EngineRequest, budget: number): number {
    const bs = this.kv.blockSize;
    let hit: number[] = [];
    if (this.params.enablePrefixCaching) {
      // At least the last token is always computed: its logits produce the next token.
      const maxBlocks = Math.floor((req.numTokens - 1) / bs);
      hit = this.kv.longestCachedPrefix(req.blockHashes(maxBlocks, bs), maxBlocks);
    }
    const hitTokens = hit.length * bs;
    const numNew = Math.min(req.numTokens - hitTokens, budget);
    const need = this.kv.blocksFor(hitTokens + numNew) - hit.length;
    // Reusing a free cached block uses up free capacity just like allocating one.
    if (need + this.kv.countFree(hit) > this.kv.numFree) return 0;
    this.kv.acquire(hit);
    req.blocks = hit.slice();
    this.kv.allocate(need, req.blocks);
    req.numComputed = hitTokens;
    req.numRegistered = hit.length;
    if (this.params.enablePrefixCaching) {
      this.counters.prefixQueries += req.numTokens;
      this.counters.prefixHits += hitTokens;
    }
    if (req.cachedTokens < 0) req.cachedTokens = Math.min(hitTokens, req.promptLen);
    return numNew;
  }

  private add(batch: Batch, req: EngineRequest, numNew: number): void {
    batch.items.push({ req, numNew });
    const decoding = req.numOutput > 0 && numNew === 1 && req.numComputed === req.numTokens - 1;
    if (decoding) {
      batch.decodeSeqs++;
      batch.decodeContextTokens += req.numTokens;
    } else {
      batch.prefillTokens += numNew;
    }
  }

  /** Offers the blocks `req` has completely computed to the prefix cache. */
  registerComputedBlocks(req: EngineRequest): void {
    const bs = this.kv.blockSize;
    const full = Math.min(Math.floor(req.numComputed / bs), req.blocks.length);
    if (full <= req.numRegistered) return;
    const hashes = req.blockHashes(full, bs);
    for (let i = req.numRegistered; i < full; i++) this.kv.register(req.blocks[i], hashes[i]);
    req.numRegistered = full;
  }

  /** Every request still queued or running (for shutdown). */
  all(): EngineRequest[] {
    const waiting = this.waiting.slice(this.waitingHead).filter((r) => r.state === 'waiting');
    return [...this.running, ...waiting];
  }
}
