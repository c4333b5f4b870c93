// Where the allocations went, from a sampling heap profile written by alloc-sampler.mjs: bytes by
// allocating function (self) and by Switchyard or package function on the stack (inclusive).

interface AllocNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

export interface AllocProfile {
  head: AllocNode;
  samples: { size: number; nodeId: number }[];
}

const short = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/') || '(native)';

export function allocationReport(profile: AllocProfile, requests: number, top = 30): string {
  const bySelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const walk = (node: AllocNode, stack: string[]) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${short(url)}:${lineNumber + 1}`;
    const ours = url.includes('/src/') || url.includes('node_modules/');
    const next = ours && !stack.includes(name) ? [...stack, name] : stack;
    if (node.selfSize > 0) {
      total += node.selfSize;
      bySelf.set(name, (bySelf.get(name) ?? 0) + node.selfSize);
      for (const s of next) inclusive.set(s, (inclusive.get(s) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, next);
  };
  walk(profile.head, []);
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${(v / requests / 1024).toFixed(2).padStart(7)} KB/req  ${k}`)
      .join('\n');
  return `allocated in all ${(total / 2 ** 20).toFixed(0)} MB over ~${requests} requests: ${(total / requests / 1024).toFixed(1)} KB per request (startup included)\n\nby allocating function:\n${fmt(bySelf)}\n\ninclusive, Switchyard and package functions:\n${fmt(inclusive)}`;
}
