/**
 * Plain-text tables for terminal output: first column left-aligned, the rest right-aligned,
 * widths from the content. Shared by every suite so results look alike.
 */

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? cell.length;
        return i === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 55000.4 → "55,000". */
export function formatRate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** Milliseconds with two decimals (loopback latencies are often below 1 ms). */
export function formatMs(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '-';
}

/** 0.523 → "52 %". */
export function formatPercent(ratio: number): string {
  return Number.isFinite(ratio) ? `${Math.round(ratio * 100)} %` : 'n/a';
}
