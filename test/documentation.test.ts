import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { codeBlocks, documents } from '../scripts/code-blocks.mjs';
import { OUTBOX_DEFAULTS } from '../src/delivery/outbox.js';
import { CifSpanExporter } from '../src/index.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { useFakeClock } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The cells of the table row of `file` whose first cell is `first` (backticks included). */
function tableRow(file: string, first: string): string[] {
  const row = read(file)
    .split('\n')
    .find((line) => line.startsWith(`| ${first} |`));
  if (!row) throw new Error(`${file} has no table row for ${first}`);
  return row.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, ''));
}

/** The cells of the README table row whose first cell is `first`. */
const readmeRow = (first: string): string[] => tableRow('README.md', first);

/** The figures of the row of bench/README.md's recorded run whose first cell is `first`. */
const benchRow = (first: string): string[] => tableRow('bench/README.md', first).slice(1);

/** The last cell of the README table row whose first cell is `first`: what CI checks, in the support table. */
const readmeCell = (first: string): string => readmeRow(first).at(-1)!;

/** The version of each `@opentelemetry/*` package a compatibility project's lockfile installs. */
function locked(project: string): Record<string, string> {
  const lock = JSON.parse(read(`test/compat/${project}/package-lock.json`)) as { packages: Record<string, { version: string }> };
  return Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([path]) => /^node_modules\/@opentelemetry\/[^/]+$/.test(path))
      .map(([path, { version }]) => [path.slice('node_modules/@opentelemetry/'.length), version]),
  );
}

/** The lines of `markdown` outside its fenced code blocks, with their line numbers. */
function proseLines(markdown: string, file: string): Array<{ line: number; text: string }> {
  const fenced = new Set<number>();
  for (const block of codeBlocks(markdown, file)) {
    const length = block.code.split('\n').length;
    for (let i = block.line; i <= block.line + length + 1; i++) fenced.add(i);
  }
  return markdown
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter(({ line }) => !fenced.has(line));
}

/** Whether `version` (x.y.z) satisfies `range`, for the `>=`, `^` and `||` forms package.json uses here. */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string): number[] => v.split('.').map((part) => Number(part));
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const v = parse(version);
  return range.split('||').some((part) => {
    const [, op, bound] = /^\s*(>=|\^)?\s*([\d.]+)\s*$/.exec(part) ?? [];
    if (bound === undefined) throw new Error(`a range this test cannot read: ${part}`);
    const b = parse(bound);
    if (op === '>=') return compare(v, b) >= 0;
    if (op === '^') return compare(v, b) >= 0 && v[0] === b[0];
    return compare(v, b) === 0;
  });
}

describe('what the user documentation says, against the package', () => {
  it('admits in engines.node only Node.js versions that require() ES modules unflagged, as the README says CommonJS require()s it', () => {
    // README.md: "CommonJS `require()`s it". Node.js 22.0 to 22.11 (22.11.0 is the first
    // 22 LTS) and all of 21.x throw ERR_REQUIRE_ESM without --experimental-require-module.
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const flagged = ['21.7.3', '22.0.0', '22.11.0'];
    expect(flagged.filter((version) => satisfies(version, engines))).to.deep.equal([]);
  });

  it('names in the README options table what the outbox needs in a frame besides localStorage and Web Locks', () => {
    // A CIF widget always runs in the Dynamics 365 page's iframe; there the outbox also needs its
    // name, given or from the top page's origin (test/delivery/outbox.test.ts proves the code).
    const [, defaultCell = ''] = readmeRow('`outbox`');
    expect(defaultCell).to.match(/in a frame/).and.to.match(/`name`/);
  });

  it('gives in the README Troubleshooting table a row for each drop reason and callbackErrors, which warnings name', () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Troubleshooting'), readme.indexOf('\n## ', readme.indexOf('## Troubleshooting') + 1));
    const { dropped } = new CifSpanExporter({ client: new RecordingCifClient(), outbox: false }).getStats();
    const counters = [...Object.keys(dropped), 'invalid_log_record'].map((reason) => `dropped.${reason}`).concat('callbackErrors', 'outbox.notStored', 'outbox.storeErrors');
    // A row names a counter whole, or the second of several of one object by its last part (`dropped.x`, `y`).
    expect(counters.filter((counter) => !table.includes(`\`${counter}`) && !table.includes(`, \`${counter.split('.').at(-1)}\``))).to.deep.equal([]);
  });

  it('puts every npm install line of docs/*.md in a fenced block, which scripts/readme.mjs then runs or refuses', () => {
    const inline = documents()
      .filter((file) => file.startsWith('docs/'))
      .flatMap((file) =>
        proseLines(read(file), file)
          .filter(({ text }) => /`npm (?:install|i) [^`]*@/.test(text))
          .map(({ line }) => `${file}:${line}`),
      );
    expect(inline).to.deep.equal([]);
  });

  it("reports, as docs/instrumentation.md says npm run bench does, what a wrapped call adds beside a span started by hand, and the subpath's min+gzip size", () => {
    expect(read('docs/instrumentation.md').replace(/\n/g, ' ')).to.include('`npm run bench` reports what a wrapped call adds, in time and bytes, beside a span started by hand');
    expect(read('bench/run.ts')).to.match(/instrumentation: \(\) => measureInstrumentation\(/);
    for (const row of ['wrapped setPresence', 'unwrapped setPresence, in a span started by hand']) expect(benchRow(row), row).to.have.length(4);
    expect(read('bench/README.md')).to.match(/`opentelemetry-exporter-cif\/instrumentation` from `dist\/`[^\n]*: [\d ]+ B minified, [\d ]+ B min\+gzip\./);
  });

  it('gives in docs/delivery.md the memory of the run bench/README.md shows, within a tenth', () => {
    // The docs round the bench's figures ("about"); bench/README.md holds the run as the bench printed it.
    const cells = (first: string): number[] =>
      benchRow(first).map((cell) => {
        const [, n, unit] = /^([\d ]+) (KiB|B)$/.exec(cell)!;
        return Number(n!.replace(/ /g, '')) * (unit === 'KiB' ? 1024 : 1);
      });
    const [typical, widest] = cells('heap held');
    const [typicalEach, widestEach] = cells('heap held per KPI event');
    const rows = read('docs/delivery.md')
      .split('\n')
      .filter((line) => /^\| (typical|every field)/.test(line))
      .map((line) => [...line.matchAll(/about ([\d.]+) (KB|MB)/g)].map(([, n, unit]) => Number(n) * (unit === 'KB' ? 1e3 : 1e6)));
    const recorded = [
      [typicalEach, typical],
      [widestEach, widest],
    ];
    expect(rows).to.have.length(2);
    rows.forEach((row, i) => row.forEach((said, j) => expect(said / recorded[i]![j]!, `row ${i + 1}, figure ${j + 1}`).to.be.within(0.9, 1.1)));
  });

  it("gives in docs/page-lifecycle.md the calls the default outbox holds of the bench's typical KPI event, as bench/README.md's run stores it", () => {
    const stored = Number(/(\d+) B stored/.exec(benchRow('outbox over an in-memory stand-in, in none of the rows above: storing and removing each call, bytes stored').join(' '))?.[1]);
    const [, calls, bytes] = /about ([\d,]+) calls of the bench's typical KPI event, which takes ([\d,]+) B/.exec(read('docs/page-lifecycle.md').replace(/\n\s*/g, ' ')) ?? [];
    const number = (text = '') => Number(text.replace(/,/g, ''));
    expect(number(bytes)).to.equal(stored);
    expect(number(calls) / (OUTBOX_DEFAULTS.maxBytes / stored)).to.be.within(0.99, 1.01);
  });

  it("says in docs/page-lifecycle.md what the outbox costs in Chromium as bench/README.md's run measured it: tens of microseconds a call, under a millisecond an export's first task, milliseconds its longest, more than OTLP's serializing for the whole batch where the host answers at once, nothing for a call that goes to the host at once", () => {
    expect(read('bench/README.md')).to.include('### The outbox in Chromium');
    const cell = (first: string, unit: string): number => Number(new RegExp(`^([\\d.]+) ?${unit}`).exec(benchRow(first)[0]!)?.[1]);
    const cost = (read('docs/page-lifecycle.md').split('- **Cost.**')[1] ?? '').split('\n- ')[0]!.replace(/\s+/g, ' ');
    expect(cost).to.include('tens of microseconds a call').and.to.include('its first task runs for under a millisecond either way');
    expect(cell('outbox over localStorage: storing and removing each call', 'µs')).to.be.at.least(10).and.below(100);
    expect(cell('export(), outbox on: first slice', 'ms')).to.be.below(1);
    expect(cell('export(), outbox: false: first slice', 'ms')).to.be.below(1);
    expect(cost).to.include('the longest of its tasks for milliseconds with the outbox, under the 50 ms a browser counts as a long task, where it runs for under one without it');
    expect(cell('export(), outbox on: longest slice', 'ms')).to.be.at.least(1).and.below(50);
    expect(cell('export(), outbox: false: longest slice', 'ms')).to.be.below(1);
    // "Many times what the rest of an export spends on the call".
    expect(cell('outbox on / outbox: false, longest slice', 'x')).to.be.at.least(5);
    // A call that goes to the host in the task of its export "costs the store nothing": one group's export costs about the same either way.
    expect(cost).to.include('costs the store nothing');
    expect(cell('outbox on / outbox: false, first slice of one group', 'x')).to.be.below(1.5);
    // With a host that answers at once, "all the tasks of an export together ... cost about what they cost without the
    // outbox: as much as the OTLP exporter spends ..., or up to a few times that": its calls go to the host unwritten.
    expect(cost).to.include('then cost about what they cost without the outbox: as much as the OTLP exporter spends serializing the same spans, or up to a few times that');
    const whole = cell('export() to its callback, default options (outbox on), host copying each payload and answering at once', 'ms');
    expect(whole / cell('the same, outbox: false', 'ms')).to.be.below(1.5);
    expect(cell('OTLP / export(), default options', 'x')).to.be.within(0.25, 1.25);
    expect(benchRow('KPI events of one export to its callback, default options, the outbox stored, on average')[0]).to.match(/^0\.0 of /);
  });
});

// README.md, "More": the supported versions and those CI checks.
describe('the versions the README says CI checks', () => {
  it('installs api 1.3.0 with core and SDK 2.0.0, and api 1.9.x with core and SDK 2.12.x, for OpenTelemetry JS 2.x', () => {
    expect(readmeCell('OpenTelemetry JS 2.x')).to.equal('api 1.3.0, 1.9.x; core and SDK 2.0.0 and 2.12.x');
    const oldest = locked('otel-2');
    expect([oldest['api'], oldest['core'], oldest['sdk-trace-base']]).to.deep.equal(['1.3.0', '2.0.0', '2.0.0']);
    const own = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies;
    expect([own['@opentelemetry/api'], own['@opentelemetry/core'], own['@opentelemetry/sdk-trace-base']].map((v) => v?.replace(/\.\d+$/, '.x'))).to.deep.equal(['1.9.x', '2.12.x', '2.12.x']);
  });

  it('installs core and sdk-trace 3.1.1 for OpenTelemetry JS 3.x, and sdk-logs 0.223.0 with api 1.4.0 and 3.1.1 for log-based events', () => {
    expect(readmeCell('OpenTelemetry JS 3.x')).to.equal('3.1.1, and the newest 3.x on install');
    expect(readmeCell('log-based events')).to.equal('0.223.0 with api 1.4.0, 3.1.1, and the newest on install');
    const three = locked('otel-3');
    expect([three['core'], three['sdk-trace'], three['sdk-logs']]).to.deep.equal(['3.1.1', '3.1.1', '3.1.1']);
    const logs = locked('otel-2-logs');
    expect([logs['sdk-logs'], logs['api-logs'], logs['api']]).to.deep.equal(['0.223.0', '0.223.0', '1.4.0']);
  });

  it('runs on Node.js 20.19.0, 22.x, 24.x and 26.x besides the one running npm test', () => {
    expect(readmeCell('Node.js')).to.equal('20.19.0, 20.x, 22.x, 24.x, 26.x');
    const script = read('scripts/node-binary.mjs');
    const constant = (name: string) => new RegExp(`export const ${name} = ([^;]+);`).exec(script)?.[1];
    expect([constant('NODE_LOWEST'), constant('NODE_22')?.replace(/\.\d+\.\d+'$/, ".x'"), constant('NODE_NEWER')?.replace(/\.\d+\.\d+'/g, ".x'")]).to.deep.equal([
      "'20.19.0'",
      "'22.x'",
      "['24.x', '26.x']",
    ]);
  });
});

// README.md, quick start: "The processor exports within 5 s".
describe("the quick start's BatchSpanProcessor at its defaults", () => {
  const fake = useFakeClock();

  it('hands a KPI event to the host 5 s after its span ended, and not before', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false });
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    fake.closeables.push(provider, exporter);
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await fake.clock.tickAsync(4_999);
    expect(client.calls).to.deep.equal([]);
    await fake.clock.tickAsync(1);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
  });
});
