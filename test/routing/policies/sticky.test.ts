import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinPolicy } from '../../../src/routing/policies/round-robin.ts';
import { withStickiness } from '../../../src/routing/policies/sticky.ts';
import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../../../src/routing/types.ts';
import { replicas, request } from '../helpers.ts';

function route(p: RoutingPolicy, candidates: ReplicaView[], req: RoutingRequest): string {
  const r = p.pick(candidates, req)!;
  p.onRouted?.(r, req);
  return r.id;
}

describe('withStickiness', () => {
  it('keeps a session on the replica of its previous turn', () => {
    const p = withStickiness(new RoundRobinPolicy());
    const rs = replicas(4);
    const first = route(p, rs, request({ sessionKey: 'alice' }));
    for (let i = 0; i < 10; i++) assert.equal(route(p, rs, request({ sessionKey: 'alice' })), first);
    assert.equal(p.name, 'round-robin+sticky');
  });

  it('leaves requests without a session key to the wrapped policy', () => {
    const p = withStickiness(new RoundRobinPolicy());
    const rs = replicas(3);
    assert.deepEqual([0, 1, 2].map(() => route(p, rs, request())), ['r0', 'r1', 'r2']);
  });

  it('moves the session when its replica is no longer a candidate, and stays on the new one', () => {
    const p = withStickiness(new RoundRobinPolicy());
    const rs = replicas(3);
    const first = route(p, rs, request({ sessionKey: 's' }));
    const others = rs.filter((r) => r.id !== first);
    const second = route(p, others, request({ sessionKey: 's' }));
    assert.notEqual(second, first);
    assert.equal(route(p, rs, request({ sessionKey: 's' })), second);
  });

  it('moves the session when its replica is overloaded relative to the average', () => {
    const p = withStickiness(new RoundRobinPolicy(), { maxInFlightRatio: 2, minInFlight: 2 });
    const rs = replicas(4);
    const home = rs.find((r) => r.id === route(p, rs, request({ sessionKey: 's' })))!;
    home.inFlight = 1; // below minInFlight: never overloaded
    assert.equal(route(p, rs, request({ sessionKey: 's' })), home.id);
    for (const r of rs) r.inFlight = 2;
    home.inFlight = 4; // avg 2.5, limit 5
    assert.equal(route(p, rs, request({ sessionKey: 's' })), home.id);
    home.inFlight = 10; // avg 4, limit 8
    assert.notEqual(route(p, rs, request({ sessionKey: 's' })), home.id);
  });

  it('does not stick to a replica at max concurrency', () => {
    const p = withStickiness(new RoundRobinPolicy());
    const rs = replicas(2, { maxConcurrency: 1 });
    const first = route(p, rs, request({ sessionKey: 's' }));
    rs.find((r) => r.id === first)!.inFlight = 1;
    assert.notEqual(route(p, rs, request({ sessionKey: 's' })), first);
  });

  it('remembers a bounded number of sessions and passes onRouted through', () => {
    const routed: string[] = [];
    const inner: RoutingPolicy = { name: 'first', pick: (c) => c[0], onRouted: (r) => routed.push(r.id) };
    const p = withStickiness(inner, { capacity: 2 });
    const rs = replicas(3);
    p.onRouted!(rs[2], request({ sessionKey: 'a' }));
    p.onRouted!(rs[2], request({ sessionKey: 'b' }));
    p.onRouted!(rs[2], request({ sessionKey: 'c' })); // evicts 'a'
    assert.equal(p.pick(rs, request({ sessionKey: 'a' }))!.id, 'r0');
    assert.equal(p.pick(rs, request({ sessionKey: 'c' }))!.id, 'r2');
    assert.deepEqual(routed, ['r2', 'r2', 'r2']);
    assert.equal(p.pick([], request({ sessionKey: 'c' })), undefined);
  });
});
