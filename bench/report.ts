/** A limit checked by `npm run bench` (size limits also by `npm run check:size`). Limits compare quantities measured in the same run. */
export interface Budget {
  name: string;
  /** The rule, as a reader states it: `at least 5x faster`. */
  rule: string;
  /** What this run measured, formatted. */
  measured: string;
  holds: boolean;
  /** `false` for a target that is reported but does not fail `npm run bench`. */
  enforced?: boolean;
  /** What to do when it does not hold. */
  hint: string;
}

/** One measurement: a printed table, its machine-readable values, and the budgets it checks. */
export interface Section {
  /** Key in `bench/results.json`. */
  id: string;
  title: string;
  header: string[];
  rows: string[][];
  notes?: string[];
  values: Record<string, unknown>;
  budgets: Budget[];
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatSection(section: Section): string {
  const notes = section.notes?.map((n) => `\n${n}`).join('') ?? '';
  return `### ${section.title}\n\n${markdownTable(section.header, section.rows)}\n${notes}`;
}

export function formatBudgets(budgets: readonly Budget[]): string {
  return markdownTable(
    ['budget', 'rule', 'this run', ''],
    budgets.map((b) => [b.name, b.rule, b.measured, b.holds ? 'holds' : b.enforced === false ? 'missed (target)' : 'MISSED']),
  );
}

/** `1234567` as `1 234 567`, readable in a table. */
export function thousands(value: number): string {
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

export function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

export function times(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(2)} KiB`;
}

/** A budget that `ratio` is at least `min`: how many times faster than an anchor. */
export function fasterBudget(name: string, ratio: number, min: number, hint: string): Budget {
  return { name, rule: `at least ${min}x faster`, measured: `${times(ratio)} faster`, holds: ratio >= min, hint };
}

/** A budget that `ratio` is at most `max`: how many times a floor or a median. */
export function atMostBudget(name: string, ratio: number, max: number, hint: string, rule = `at most ${max}x`): Budget {
  return { name, rule, measured: times(ratio), holds: ratio <= max, hint };
}
