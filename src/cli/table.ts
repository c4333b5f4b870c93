// Plain-text tables for the CLI's list commands: one header row, columns padded to their widest
// cell, empty values shown as "-".

export type Json = Record<string, unknown>;

export function formatTable(rows: Json[], columns: [header: string, value: (r: Json) => unknown][]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const cells = rows.map((r) => columns.map(([, f]) => cell(f(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  return line(columns.map(([h]) => h)) + cells.map(line).join('');
}
