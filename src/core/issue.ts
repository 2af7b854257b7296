/** A problem found in a topology file, located by its path in the YAML document. */
export interface TopologyIssue {
  /** Path from the document root, e.g. ['topology', 'nodes', 'lb1', 'kind']. */
  path: (string | number)[];
  /** What is wrong, in one sentence, naming the offending key or value. */
  message: string;
  /** Point at the key itself rather than its value (unknown or misspelt keys). */
  atKey?: boolean;
  /** What to do about it. */
  fix?: string;
}

export interface SourceLocation {
  line: number;
  col: number;
}

/** A topology file that failed to load or validate; carries every issue found, each located. */
export class TopologyError extends Error {
  constructor(
    readonly file: string,
    readonly issues: (TopologyIssue & SourceLocation)[],
  ) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.name = 'TopologyError';
  }
}

export function formatIssue(file: string, issue: TopologyIssue & SourceLocation): string {
  const where = issue.path.length > 0 ? ` ${issue.path.join('.')}:` : '';
  const fix = issue.fix ? ` (fix: ${issue.fix})` : '';
  return `${file}:${issue.line}:${issue.col}:${where} ${issue.message}${fix}`;
}
