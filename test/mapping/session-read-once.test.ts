import { expect } from 'chai';
import type { CifSession } from '../../src/index.js';
import { spanPipeline } from '../helpers/pipelines.js';
import { expectBalanced } from '../helpers/fake-client.js';

const T1 = '2026-11-25T10:15:30.123Z';

describe('a session option that answers differently at each read', () => {
  it('sends the ids the constructor checked, read once each, whatever a getter of the options or a proxy of the session answers later', async () => {
    const reads: string[] = [];
    // Checked ids first, then ids no column holds: a session read again at export would send them.
    const session = new Proxy({} as CifSession, {
      get(_, key) {
        if (typeof key !== 'string') return undefined;
        reads.push(key);
        const first = reads.filter((k) => k === key).length === 1;
        return key === 'conversationId' || key === 'providerSessionId' ? (first ? `${key}-checked` : 'x'.repeat(200)) : undefined;
      },
      ownKeys: () => [],
    });
    let sessionReads = 0;
    const options = {
      get session(): CifSession {
        return sessionReads++ === 0 ? session : { conversationId: 'y'.repeat(200) };
      },
    };
    const { client, exporter, tracer, flush } = spanPipeline(options);
    const before = reads.length;
    for (let i = 0; i < 2; i++) {
      const span = tracer.startSpan('call');
      span.addEvent('CallAccepted', { 'cif.kpi.reason': `call ${i}` }, new Date(T1));
      span.end();
    }
    await flush();
    expect(sessionReads, 'the session option read once').to.equal(1);
    expect(reads.slice(before), 'no read of the session after the constructor').to.deep.equal([]);
    expect(client.payloads().map((p) => [p.conversationId, p.providerSessionId, p.events[0]!.kpiEventReason])).to.deep.equal([
      ['conversationId-checked', 'providerSessionId-checked', 'call 0'],
      ['conversationId-checked', 'providerSessionId-checked', 'call 1'],
    ]);
    expectBalanced(exporter.getStats());
  });
});
