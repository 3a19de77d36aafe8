import { expect } from 'chai';
import { formatCifCall, RecordingCifClient, type RecordedCifCall } from '../../src/testing/index.js';

describe('formatCifCall and format() on any data a widget logs', () => {
  it('writes a call whose data is a proxy that refuses every reading by its type, and does not throw', () => {
    const refusing = new Proxy(
      {},
      new Proxy({}, { get: () => () => { throw new Error('no reading me'); } }),
    );
    const call: RecordedCifCall = { data: refusing as never, eventName: 'CallAccepted', correlationId: undefined };
    let printed = '';
    expect(() => (printed = formatCifCall(call, 0))).not.to.throw();
    expect(printed).to.equal("#1 logAnalyticsEvent 'CallAccepted'  correlationId (none)\n  data object");
  });

  it('writes one field a line when a key of data the widget logged itself holds a line break', async () => {
    const client = new RecordingCifClient();
    await client.logAnalyticsEvent({ conversationId: 'conv-42', 'provider\nSessionId': 'CA42', events: [] } as never, 'CallAccepted');
    // The header, then one line per field (docs/browser.md: one field a line).
    expect(client.format().split('\n')).to.have.length(3);
  });
});
