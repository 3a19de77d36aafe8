// Proves the code blocks of README.md and docs/*.md. Each block is claimed by a marker comment on
// the line before it (`<!-- check: install otel-2 -->`); a block without one, or with one this
// script does not know, fails the run (scripts/code-blocks.mjs finds them). In the README only:
// - install otel-N: each `npm install` line runs verbatim (the packed tarball in place of the
//   package name) in a fresh project, on every Node.js version that line supports, and must leave
//   one copy of `@opentelemetry/api` and of `@opentelemetry/core` (later install lines: of the API);
// - quickstart otel-N / quickstart: the setup of line N and the shared part, type-checked
//   against the packages that install line put there, then run with the stand-in CIF host
//   (installFakeCIFramework), once answering and once refusing every call;
// - install otel-N logs, logs otel-N / logs: the same for log-based events, in the same project
//   after the span quick start, which they follow (its ids, its session, its calls);
// - install otel-N instrumentation, instrumentation: in the same project after those, the install
//   line, then the `instrumentation` block after the setup of line N, type-checked and run: a call
//   the widget makes in a span, without a correlationId, must reach the host with the trace id;
// - commonjs: compiled as a `.cts` file with the TypeScript settings the README names, then run;
//   type-checked with the oldest TypeScript it names too.
// Anywhere:
// - install browser-sdk, browser-sdk: the install line runs in a fresh project (the packed tarball
//   in place of the package name), which must hold one `@opentelemetry/api`, and the block is
//   type-checked against the packages it put there;
// - types: type-checked against the built package and this repository's dev dependencies;
// - npm-scripts: each `npm run <script>` names a script of package.json;
// - script-tag: an HTML page with the script-tag bundles, run in Chromium by test/browser/script-tag.e2e.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import oldestTs from 'typescript-5.8';
import { documentedBlocks } from './code-blocks.mjs';
import { findPackages } from './compat.mjs';
import { NODE_22, NODE_LOWEST, NODE_NEWER, envWithNode } from './node-binary.mjs';
import { isMain, manifest, root, run, typecheckFiles, withPackedPackage } from './pack.mjs';

/** Where each OpenTelemetry JS line is proven: the Node.js versions its install line supports. */
const LINES = {
  'otel-2': { nodes: [NODE_LOWEST, process.version.slice(1), NODE_22, ...NODE_NEWER] },
  // The 3.x packages ask for Node.js 22.15 or newer (their `engines`, checked below).
  'otel-3': { nodes: [NODE_22, ...NODE_NEWER], engines: { '@opentelemetry/sdk-trace': '>=22.15.0', '@opentelemetry/sdk-logs': '>=22.15.0' } },
};

/** How a user's bundled browser project compiles: what the quick starts are checked with. */
const BROWSER_OPTIONS = {
  target: 'ES2022',
  module: 'ESNext',
  moduleResolution: 'Bundler',
  lib: ['ES2022', 'DOM'],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

/** The configuration the README gives CommonJS projects in TypeScript. */
// `verbatimModuleSyntax`, as `tsc --init` of TypeScript 6 and 7 writes it: no `import` may then become a `require()`.
const COMMONJS_OPTIONS = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], strict: true, skipLibCheck: true, verbatimModuleSyntax: true };

/** Markers proven with the README's install lines and quick start, which only the README has. */
const README_MARKER = /^(?:install otel-\d+(?: logs| instrumentation)?|(?:quickstart|logs)(?: otel-\d+)?|instrumentation|commonjs)$/;
/** Markers any page may use. Any other marker is a typo that would leave its block unchecked. */
const ANY_PAGE_MARKER = /^(?:types|npm-scripts|script-tag|(?:install )?browser-sdk)$/;

/** Throws at the first block no check claims; returns `pick(...marker)`, the blocks with that marker. */
function claimed(blocks) {
  for (const b of blocks) {
    const marker = b.marker.join(' ');
    const where = `${b.file}:${b.line}`;
    if (marker === '') throw new Error(`${where}: a code block without a <!-- check: ... --> marker`);
    if (!ANY_PAGE_MARKER.test(marker) && !(b.file === 'README.md' && README_MARKER.test(marker))) {
      throw new Error(`${where}: <!-- check: ${marker} --> is not a check this script runs${README_MARKER.test(marker) ? ' outside README.md' : ''}`);
    }
    if (/^\s*npm (?:install|i) /m.test(b.code) && b.marker[0] !== 'install') {
      throw new Error(`${where}: an install line without a <!-- check: install otel-N --> marker`);
    }
  }
  const pick = (...marker) => blocks.filter((b) => b.marker.length === marker.length && marker.every((m, i) => b.marker[i] === m));
  return { pick };
}

/** The README's `npm install` lines of block `code`, with the package name replaced by `tarball`. */
function installLines(code, tarball) {
  return code
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npm install '))
    .map((line) => line.replace(new RegExp(`(?<=\\s)${manifest.name}(?=\\s|$)`), tarball));
}

/** The call the quick start makes for its KPI event, span or log-based, less its timestamp. */
const CALL_ACCEPTED = {
  eventName: 'CallAccepted',
  // The conversation of the session installFakeCIFramework focuses, and the README's call id.
  ids: ['conversation-1', 'CA5f3c2e9b7d'],
  events: [{ kpiEventName: 'CallAccepted', notificationResponseAction: 'accepted' }],
  correlationId: true,
};

/**
 * Runs the built quick start `module` in `dir` against the stand-in CIF library, and checks that
 * it made the calls `expected` and printed nothing; `more` is checked after it. With the argument
 * `refusing`, the stand-in refuses every call: then each call must be one of `expected`, and the
 * quick start must have printed the rejection of `forceFlush()`, the SDK's array of errors.
 */
const harness = (module, expected, more = '') => `
import assert from 'node:assert/strict';

// What the quick start prints, through the console; replaced before @opentelemetry/api loads,
// since its DiagConsoleLogger keeps the console methods it finds then.
const print = console.log;
const printed = [];
for (const level of ['error', 'warn', 'info', 'debug', 'trace', 'log']) console[level] = (...args) => printed.push([level, ...args]);
const { CifExportError } = await import('${manifest.name}');
const { RecordingCifClient, installFakeCIFramework } = await import('${manifest.name}/testing');

const refusing = process.argv[2] === 'refusing';
const refusal = new Error('the channel provider is not active');
const answer = refusing ? () => Promise.reject(refusal) : 'ok';
const { client } = installFakeCIFramework(globalThis, new RecordingCifClient({ answer }));
await import('./${module}');
const calls = client.calls.map(({ data, eventName, correlationId }) => ({
  eventName,
  ids: [data.conversationId, data.providerSessionId],
  events: data.events.map(({ eventTimestamp, ...event }) => event),
  correlationId: /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(correlationId),
}));
const expected = ${JSON.stringify(expected)};
if (refusing) {
  assert.ok(calls.length > 0, 'the refused call was made');
  assert.deepEqual(calls, calls.map(() => expected[0]));
  const caught = printed.filter(([level, message]) => level === 'warn' && message === 'KPI events not delivered');
  assert.equal(caught.length, 1, 'the quick start caught the rejection of forceFlush()');
  const [[, , errors]] = caught;
  assert.ok(Array.isArray(errors) && errors.length > 0, 'forceFlush() rejected with an array of errors');
  for (const error of errors) assert.ok(error instanceof CifExportError && error.errors.some((e) => e.cause === refusal), String(error));
  print('${module}: forceFlush() rejected with [' + errors.map(String).join(', ') + '], as the README says, on Node ' + process.version);
} else {
  assert.deepEqual(calls, expected);
  assert.deepEqual(printed, [], 'the quick start printed nothing');
  print('${module}: ' + calls.length + ' logAnalyticsEvent calls, as expected, on Node ' + process.version);
${more}}`;

/** Checked after the span quick start: the diag logger it sets prints the exporter's warnings, and nothing below WARN. */
const DIAG_AT_WARN = `
const { CifSpanExporter } = await import('${manifest.name}');
const { diag } = await import('@opentelemetry/api');
new CifSpanExporter({ sesion: {} });
diag.info('not printed at WARN');
assert.equal(printed.length, 1, JSON.stringify(printed));
assert.equal(printed[0][0], 'warn');
assert.match(printed[0].join(' '), /sesion/);
`;

/** Checked after the span quick start, on the same Node.js. */
const INVALID_TRACE_ID = `
// A span with an invalid trace id gets a fresh v4 UUID (from uuid) as correlationId, on this Node too.
const recording = new RecordingCifClient();
const when = [1764065730, 123000000];
const invalid = {
  name: 'call',
  attributes: { 'cif.conversation.id': 'conv-002', 'cif.provider_session.id': 'CA2' },
  events: [{ name: 'CallHold', time: when }],
  endTime: when,
  resource: { attributes: {} },
  spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 }),
};
const result = await new Promise((resolve) => new CifSpanExporter({ client: recording }).export([invalid], resolve));
assert.deepEqual([result.code, recording.calls.length], [0, 1], String(result.error));
assert.match(recording.calls[0].correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
`;

/** Checked after the log-based quick start: its record, emitted outside any span, has a v5 UUID. */
const TRACELESS_CORRELATION = `
const [, logCall] = client.calls;
assert.match(logCall.correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
`;

/** Checked after the instrumentation block: the registered CifInstrumentation fills a call's correlationId. */
const TRACED_CALL = `
const { context, trace } = await import('@opentelemetry/api');
const { traceIdToGuid } = await import('${manifest.name}');
const span = trace.getTracer('readme-check').startSpan('call');
await context.with(trace.setSpan(context.active(), span), () =>
  globalThis.Microsoft.CIFramework.logAnalyticsEvent({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'Probe'),
);
span.end();
assert.deepEqual(client.calls.map((call) => call.correlationId), [traceIdToGuid(span.spanContext().traceId)]);
`;

function proveLine(line, nodeVersion, { tarball, blocks }) {
  const [install] = blocks.pick('install', line);
  const setup = blocks.pick('quickstart', line);
  const shared = blocks.pick('quickstart');
  assert.ok(install && setup.length === 1 && shared.length === 1, `README.md: ${line} needs one install block, one setup and one shared quick start`);
  const [logsInstall] = blocks.pick('install', line, 'logs');
  const logsSetup = blocks.pick('logs', line);
  const logsShared = blocks.pick('logs');
  assert.ok(logsInstall && logsSetup.length === 1 && logsShared.length === 1, `README.md: ${line} needs one logs install block, one logs setup and one shared logs quick start`);
  const [commonjs] = blocks.pick('commonjs');

  const dir = mkdtempSync(join(tmpdir(), `cif-readme-${line}-`));
  try {
    console.log(`\n# README, OpenTelemetry JS ${line.slice(5)}.x line, Node.js ${nodeVersion}`);
    const env = nodeVersion === process.version.slice(1) ? process.env : envWithNode(nodeVersion);
    const quiet = { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
    assert.equal(run('node', ['--version'], { env, capture: true }).trim(), `v${nodeVersion}`);
    // What `npm init -y` writes, less the noise.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-check', version: '1.0.0', private: true }, null, 2));
    /** Runs the install lines of `code`, then checks that node_modules holds one copy of each package of `single`. */
    const installAll = (code, single = ['@opentelemetry/api']) => {
      for (const command of installLines(code, tarball)) run('sh', ['-c', command], { cwd: dir, env: quiet, label: command });
      const modules = join(dir, 'node_modules');
      for (const name of single) {
        const copies = findPackages(modules, name);
        assert.equal(copies.length, 1, `one ${name} for the page and the exporter, found:\n${copies.join('\n')}`);
      }
      for (const [name, range] of Object.entries(LINES[line].engines ?? {})) {
        const file = join(modules, name, 'package.json');
        if (!existsSync(file)) continue; // the logs SDK, before its install line
        const { engines } = JSON.parse(readFileSync(file, 'utf8'));
        assert.equal(engines?.node, range, `${name} asks for Node.js ${engines?.node}; the README says ${range}`);
      }
    };
    /** Type-checks the blocks as one module, then runs it with a stand-in CIF host. */
    const prove = (name, parts, expected, more) => {
      const source = `${parts.map((b) => b.code).join('\n\n')}\n`;
      writeFileSync(join(dir, `${name}.ts`), source);
      typecheckFiles(`README ${name} (${line})`, [join(dir, `${name}.ts`)], BROWSER_OPTIONS);
      const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
      writeFileSync(join(dir, `${name}.mjs`), js.outputText);
      writeFileSync(join(dir, `${name}-harness.mjs`), harness(`${name}.mjs`, expected, more));
      run('node', [`${name}-harness.mjs`], { cwd: dir, env, label: `node ${name}-harness.mjs (with a stand-in CIF host)` });
    };

    // One `core` only here: the logs SDK may pin another (below).
    installAll(install.code, ['@opentelemetry/api', '@opentelemetry/core']);
    prove('quickstart', [setup[0], shared[0]], [CALL_ACCEPTED], DIAG_AT_WARN + INVALID_TRACE_ID);
    run('node', ['quickstart-harness.mjs', 'refusing'], { cwd: dir, env, label: 'node quickstart-harness.mjs refusing (a host that refuses every call)' });
    // Log-based events follow the span quick start: the same KPI event, once from each source.
    installAll(logsInstall.code);
    provePinnedCore(join(dir, 'node_modules'));
    prove('logs', [setup[0], shared[0], logsSetup[0], logsShared[0]], [CALL_ACCEPTED, CALL_ACCEPTED], TRACELESS_CORRELATION);
    const [instrumentationInstall] = blocks.pick('install', line, 'instrumentation');
    const instrumentation = blocks.pick('instrumentation');
    assert.ok(instrumentationInstall && instrumentation.length === 1, `README.md: ${line} needs one instrumentation install block and one instrumentation block`);
    installAll(instrumentationInstall.code);
    prove('instrumentation', [setup[0], instrumentation[0]], [], TRACED_CALL);

    if (commonjs) {
      writeFileSync(join(dir, 'widget.cts'), commonjs.code);
      const options = { ...COMMONJS_OPTIONS, outDir: dir };
      typecheckFiles('README CommonJS example', [join(dir, 'widget.cts')], { ...options, noEmit: true });
      // And with the oldest TypeScript the README names: before 5.8, nodenext refused require() of an ES module.
      const oldest = oldestTs.createProgram([join(dir, 'widget.cts')], oldestTs.convertCompilerOptionsFromJson({ ...options, noEmit: true }, dir).options);
      const errors = oldestTs.getPreEmitDiagnostics(oldest).map((d) => oldestTs.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(errors, [], `the README CommonJS example does not type-check with TypeScript ${oldestTs.version}`);
      console.log(`$ tsc widget.cts (TypeScript ${oldestTs.version})`);
      const program = ts.createProgram([join(dir, 'widget.cts')], ts.convertCompilerOptionsFromJson(options, dir).options);
      assert.equal(program.emit().emitSkipped, false);
      run('node', ['widget.cjs'], { cwd: dir, env, label: 'node widget.cjs (the CommonJS example)' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * docs/log-based-events.md: "the logs SDK may pin another `core` patch than the trace SDK: npm then installs it beside
 * the page's, and both work" (the logs quick start then runs on both). The logs SDK pins `core` exactly, as every
 * OpenTelemetry JS package pins its siblings; a range there would make the sentence moot, and fails here to say so.
 */
function provePinnedCore(modules) {
  const versionOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const pin = JSON.parse(readFileSync(join(modules, '@opentelemetry/sdk-logs/package.json'), 'utf8')).dependencies?.['@opentelemetry/core'];
  assert.match(String(pin), /^\d+\.\d+\.\d+$/, `@opentelemetry/sdk-logs asks for @opentelemetry/core ${pin}, no exact version: see docs/log-based-events.md`);
  const page = versionOf(join(modules, '@opentelemetry/core'));
  const copies = findPackages(modules, '@opentelemetry/core').map(versionOf).sort();
  assert.deepEqual(copies, pin === page ? [page] : [page, pin].sort(), `@opentelemetry/core: the page's ${page}, and ${pin} for the logs SDK`);
  console.log(`@opentelemetry/core ${copies.join(' and ')}: the page's ${page}, the logs SDK's ${pin}`);
}

/** The blocks marked `types`, type-checked against the built package (dist/) and the dev dependencies. */
function proveTypes(blocks) {
  const dir = join(root, '.cache', 'readme-types');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const typed = blocks.pick('types');
  console.log('\n# README and docs/, the `types` blocks');
  if (typed.length === 0) return console.log('none');
  const files = typed.map((b) => {
    const file = join(dir, `${b.file.replace(/\W/g, '-')}-${b.line}.ts`);
    writeFileSync(file, `${b.code}\nexport {};\n`);
    return file;
  });
  const paths = {
    [manifest.name]: [join(root, 'dist/index.d.ts')],
    [`${manifest.name}/logs`]: [join(root, 'dist/logs.d.ts')],
    [`${manifest.name}/instrumentation`]: [join(root, 'dist/instrumentation.d.ts')],
    [`${manifest.name}/testing`]: [join(root, 'dist/testing/index.d.ts')],
  };
  typecheckFiles('README and docs/ TypeScript blocks', files, { ...BROWSER_OPTIONS, paths });
  rmSync(dir, { recursive: true, force: true });
}

/** The blocks marked `npm-scripts`: each `npm run <script>` in them names a script of package.json. */
function proveNpmScripts(blocks) {
  console.log('\n# README and docs/, the `npm-scripts` blocks');
  for (const b of blocks.pick('npm-scripts')) {
    const names = [...b.code.matchAll(/\bnpm run ([\w:-]+)/g)].map(([, name]) => name);
    assert.ok(names.length > 0, `${b.file}:${b.line}: an npm-scripts block that runs no script`);
    for (const name of names) assert.ok(Object.hasOwn(manifest.scripts, name), `${b.file}:${b.line}: npm run ${name}, which package.json does not define`);
    console.log(`${b.file}:${b.line}: npm run ${names.join(', npm run ')}`);
  }
}

/** The browser SDK's install line, run in a fresh project, and its block type-checked there. */
function proveBrowserSdk(blocks, tarball) {
  const [install] = blocks.pick('install', 'browser-sdk');
  const [code] = blocks.pick('browser-sdk');
  if (!install && !code) return;
  assert.ok(install && code, 'a browser-sdk block needs its install line, and the line its block');
  console.log(`\n# ${install.file}:${install.line}, the browser SDK's install line and block`);
  const dir = mkdtempSync(join(tmpdir(), 'cif-browser-sdk-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'browser-sdk-check', version: '1.0.0', private: true }, null, 2));
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
    for (const command of installLines(install.code, tarball)) run('sh', ['-c', command], { cwd: dir, env, label: command });
    const copies = findPackages(join(dir, 'node_modules'), '@opentelemetry/api');
    assert.equal(copies.length, 1, `one @opentelemetry/api, found:\n${copies.join('\n')}`);
    writeFileSync(join(dir, 'widget.ts'), `${code.code}\nexport {};\n`);
    typecheckFiles(`${code.file}:${code.line}`, [join(dir, 'widget.ts')], BROWSER_OPTIONS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every check above: the blocks of README.md and docs/*.md, the README's on the packed package. */
export function proveReadme({ tarball }) {
  const blocks = documentedBlocks();
  const { pick } = claimed(blocks);
  const picked = Object.assign(blocks, { pick });
  assert.ok(manifest.engines.node.startsWith(`^${NODE_LOWEST} `), 'engines.node starts at the lowest Node.js version checked here');
  proveTypes(picked);
  proveBrowserSdk(picked, tarball);
  proveNpmScripts(picked);
  console.log(`\n${picked.pick('script-tag').length} script-tag block(s): run by test/browser/script-tag.e2e.ts`);
  for (const [line, { nodes }] of Object.entries(LINES)) {
    for (const node of new Set(nodes)) proveLine(line, node, { tarball, blocks: picked });
  }
  console.log('\nREADME and docs/ checks passed.');
}

if (isMain(import.meta.url)) await withPackedPackage(proveReadme);
