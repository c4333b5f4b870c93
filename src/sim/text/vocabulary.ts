// Words the simulator writes with. Every word is at most six ASCII letters, so with its leading
// space it is exactly one token of the simulator's tokenizer; that keeps "tokens generated" and
// "tokens in the returned text" equal.

export const WORDS: readonly string[] = [
  'the', 'a', 'of', 'and', 'to', 'in', 'is', 'it', 'that', 'for', 'on', 'with', 'as', 'this', 'by',
  'model', 'token', 'cache', 'batch', 'route', 'queue', 'server', 'engine', 'prefix', 'block', 'memory',
  'value', 'result', 'answer', 'system', 'output', 'input', 'prompt', 'stream', 'policy',
  'load', 'time', 'first', 'next', 'last', 'each', 'every', 'some', 'more', 'less', 'most', 'fast',
  'slow', 'small', 'large', 'new', 'old', 'good', 'clear', 'simple', 'stable', 'steady', 'quick',
  'will', 'can', 'may', 'should', 'could', 'would', 'must', 'does', 'makes', 'keeps', 'holds', 'sends',
  'reads', 'writes', 'builds', 'runs', 'moves', 'shows', 'finds', 'uses', 'gives', 'takes', 'turns',
  'data', 'plan', 'step', 'path', 'node', 'link', 'graph', 'table', 'field', 'record', 'entry', 'key',
  'user', 'team', 'budget', 'price', 'cost', 'limit', 'rate', 'window', 'second', 'minute', 'hour',
  'when', 'then', 'while', 'after', 'before', 'since', 'until', 'where', 'which', 'what', 'how', 'why',
  'here', 'there', 'now', 'also', 'only', 'just', 'still', 'even', 'often', 'rarely', 'always', 'never',
  'light', 'river', 'stone', 'garden', 'forest', 'bridge', 'harbor', 'signal', 'market', 'city', 'north',
  'south', 'east', 'west', 'summer', 'winter', 'story', 'idea', 'reason', 'method', 'pod', 'dawn', 'dusk',
];
