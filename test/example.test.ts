import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('npm run example', () => {
  let output: string;
  before(async function () {
    this.timeout(60_000);
    ({ stdout: output } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/inbound-call.ts'], {
      cwd: ROOT,
    }));
  });

  it('prints the calls of an accepted call and of a rejected notification, in the order they happen', () => {
    const calls = [...output.matchAll(/^#(\d+) logAnalyticsEvent '(\w+)' {2}correlationId ([0-9a-f-]{36})$/gm)];
    expect(calls.map((m) => `${m[1]} ${m[2]}`)).to.deep.equal([
      '1 NotificationShown',
      '2 NotificationResponse',
      '3 SessionStarted',
      '4 CallHold',
      '5 CallUnhold',
      '6 CallTransferred',
      '7 WrapUpStarted',
      '8 WrapUpCompleted',
      '9 CallEnded',
      '10 NotificationShown',
      '11 NotificationResponse',
    ]);
    // One trace, so one correlationId, per call.
    expect(new Set(calls.slice(0, 9).map((m) => m[3])).size).to.equal(1);
    expect(new Set(calls.slice(9).map((m) => m[3])).size).to.equal(1);
    expect(calls[0]![3]).not.to.equal(calls[9]![3]);
    expect(output).to.match(/11 KPI events in 11 logAnalyticsEvent calls, 0 failed\.\n$/);
  });

  it('shows the identity from the nested sessions and the agent answer on each notification', () => {
    const blocks = output.split(/\n(?=#\d+ )/).filter((block) => block.startsWith('#'));
    expect(blocks[2]).to.match(/conversationId +c7a1e5d2-.*\n +providerSessionId +CA5f3c2e9b7d\n +clientSessionId +session-9b7d\n +participantId +agent-042\n/s);
    expect(blocks[1]).to.match(/notificationResponseAction +accepted/);
    expect(blocks[10]).to.match(/participantId +agent-042\n[\s\S]*kpiEventReason +agent busy\n +notificationResponseAction +rejected/);
    expect(blocks[10]).not.to.match(/clientSessionId/);
  });
});

describe('npm run example:instrumentation', () => {
  let output: string;
  before(async function () {
    this.timeout(60_000);
    ({ stdout: output } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/cif-calls.ts'], { cwd: ROOT }));
  });

  /** The printed traces: each span as [its trace's GUID, name, kind, its parent's name]. */
  function printedSpans(): Array<[string, string, string, string | undefined]> {
    const spans: Array<[string, string, string, string | undefined]> = [];
    const parents: string[] = [];
    let guid = '';
    for (const line of output.slice(output.indexOf("--- the widget's tracing backend")).split('\n').slice(2)) {
      const header = /^trace ([0-9a-f-]{36})$/.exec(line);
      const span = /^((?: {2})+)(.+?) {2}([A-Z]+)$/.exec(line);
      if (header) guid = header[1]!;
      else if (span) {
        const depth = span[1]!.length / 2 - 1;
        parents[depth] = span[2]!;
        spans.push([guid, span[2]!, span[3]!, depth === 0 ? undefined : parents[depth - 1]]);
      } else if (line !== '') throw new Error(`an unexpected line: ${line}`);
    }
    return spans;
  }

  it("prints the widget's CIF calls and handler as spans, children of the spans active at the call, and the exporter's calls as none", () => {
    const spans = printedSpans();
    const [start, call] = [spans[0]![0], spans[3]![0]];
    expect(spans).to.deep.equal([
      [start, 'softphone start', 'INTERNAL', undefined],
      [start, 'Microsoft.CIFramework/addHandler', 'CLIENT', 'softphone start'],
      [start, 'Microsoft.CIFramework/getPresence', 'CLIENT', 'softphone start'],
      [call, 'Microsoft.CIFramework onclicktoact', 'INTERNAL', undefined],
      [call, 'outbound call', 'INTERNAL', 'Microsoft.CIFramework onclicktoact'],
      [call, 'Microsoft.CIFramework/setPresence', 'CLIENT', 'outbound call'],
      [call, 'OutboundCallStarted', 'INTERNAL', 'outbound call'],
      [call, 'CallEnded', 'INTERNAL', 'outbound call'],
      [call, 'Microsoft.CIFramework/setPresence', 'CLIENT', 'outbound call'],
    ]);
    expect(start).not.to.equal(call);
  });

  it('prints the KPI calls of the outbound call, with its trace id as correlationId', () => {
    const call = printedSpans()[3]![0];
    const calls = [...output.matchAll(/^#(\d+) logAnalyticsEvent '(\w+)' {2}correlationId ([0-9a-f-]{36})$/gm)];
    expect(calls.map((m) => [m[1], m[2], m[3]])).to.deep.equal([
      ['1', 'OutboundCallStarted', call],
      ['2', 'CallEnded', call],
    ]);
  });
});
