/** Text helpers for messages and tables: one line, clipped, without terminal colours. */

/** The first line of the text, trimmed ('' for none). */
export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** A table cell or heading: line breaks and other control characters would break the layout. */
export function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
}

/** At most `max` characters, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// Colour codes: Docker's legacy builder colours a RUN step's stderr, dockerd and containerd their log levels.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, '');
}

/** Rows (the first is the header) as aligned columns two spaces apart, without trailing blanks. */
export function formatTable(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
