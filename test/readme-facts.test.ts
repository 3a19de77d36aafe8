import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter } from '../src/index.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { useFakeClock } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The last cell of the README table row whose first cell is `first`. */
function checkedInCi(first: string): string {
  const row = read('README.md')
    .split('\n')
    .find((line) => line.startsWith(`| ${first} |`));
  if (!row) throw new Error(`README.md has no table row for ${first}`);
  return row.split(' | ').at(-1)!.replace(/\s*\|$/, '');
}

/** The version of each `@opentelemetry/*` package a compatibility project's lockfile installs. */
function locked(project: string): Record<string, string> {
  const lock = JSON.parse(read(`test/compat/${project}/package-lock.json`)) as { packages: Record<string, { version: string }> };
  return Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([path]) => /^node_modules\/@opentelemetry\/[^/]+$/.test(path))
      .map(([path, { version }]) => [path.slice('node_modules/@opentelemetry/'.length), version]),
  );
}

// README.md, "More": the supported versions and those CI checks.
describe('the versions the README says CI checks', () => {
  it('installs api 1.3.0 with core and SDK 2.0.0, and api 1.9.x with core and SDK 2.12.x, for OpenTelemetry JS 2.x', () => {
    expect(checkedInCi('OpenTelemetry JS 2.x')).to.equal('api 1.3.0, 1.9.x; core and SDK 2.0.0 and 2.12.x');
    const oldest = locked('otel-2');
    expect([oldest['api'], oldest['core'], oldest['sdk-trace-base']]).to.deep.equal(['1.3.0', '2.0.0', '2.0.0']);
    const own = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies;
    expect([own['@opentelemetry/api'], own['@opentelemetry/core'], own['@opentelemetry/sdk-trace-base']].map((v) => v?.replace(/\.\d+$/, '.x'))).to.deep.equal(['1.9.x', '2.12.x', '2.12.x']);
  });

  it('installs core and sdk-trace 3.1.1 for OpenTelemetry JS 3.x, and sdk-logs 0.223.0 with api 1.4.0 and 3.1.1 for log-based events', () => {
    expect(checkedInCi('OpenTelemetry JS 3.x')).to.equal('3.1.1, and the newest 3.x on install');
    expect(checkedInCi('log-based events')).to.equal('0.223.0 with api 1.4.0, 3.1.1, and the newest on install');
    const three = locked('otel-3');
    expect([three['core'], three['sdk-trace'], three['sdk-logs']]).to.deep.equal(['3.1.1', '3.1.1', '3.1.1']);
    const logs = locked('otel-2-logs');
    expect([logs['sdk-logs'], logs['api-logs'], logs['api']]).to.deep.equal(['0.223.0', '0.223.0', '1.4.0']);
  });

  it('runs on Node.js 20.19.0, 22.x, 24.x and 26.x besides the one running npm test', () => {
    expect(checkedInCi('Node.js')).to.equal('20.19.0, 20.x, 22.x, 24.x, 26.x');
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
