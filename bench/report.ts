/** A target of issue #22: reported by `npm run bench` as met or missed, never enforced. */
export interface Target {
  name: string;
  /** The rule, as a reader states it: `at most 1.3x the floor`. */
  rule: string;
  /** What this run measured, formatted. */
  measured: string;
  met: boolean;
}

/** One measurement: a printed table, its machine-readable values, and the targets it checks. */
export interface Section {
  /** Key in `bench/results.json`. */
  id: string;
  title: string;
  /** One sentence: what is compared with what. */
  claim: string;
  header: string[];
  rows: string[][];
  notes?: string[];
  values: Record<string, unknown>;
  targets?: Target[];
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatSection(section: Section): string {
  const notes = section.notes?.map((n) => `\n${n}`).join('') ?? '';
  return `### ${section.title}\n\n${section.claim}\n\n${markdownTable(section.header, section.rows)}\n${notes}`;
}

export function formatTargets(targets: readonly Target[]): string {
  return markdownTable(
    ['target', 'rule', 'this run', ''],
    targets.map((t) => [t.name, t.rule, t.measured, t.met ? 'met' : 'missed']),
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

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A target that `ratio` is at most `max` times its anchor. */
export function ratioTarget(name: string, ratio: number, max: number, anchor: string): Target {
  return { name, rule: `at most ${max}x ${anchor}`, measured: times(ratio), met: ratio <= max };
}
