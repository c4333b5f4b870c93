// Plain-text tables for the CLI's list commands: one header row, columns padded to their widest
// cell, empty values shown as "-".

export type Json = Record<string, unknown>;

export type Column = [header: string, value: (r: Json) => unknown];

export function formatTable(rows: Json[], columns: Column[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const cells = rows.map((r) => columns.map(([, f]) => cell(f(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  return line(columns.map(([h]) => h)) + cells.map(line).join('');
}

/**
 * A list command's output: the raw answer as JSON with --json, otherwise a table of `rows`, or
 * `empty` when there are none. True when a table was printed (the caller may add a paging hint).
 */
export function printList(out: (text: string) => void, json: boolean | undefined, raw: unknown, rows: Json[], empty: string, columns: Column[]): boolean {
  if (json) out(JSON.stringify(raw, null, 2) + '\n');
  else if (rows.length === 0) out(empty);
  else {
    out(formatTable(rows, columns));
    return true;
  }
  return false;
}
