// RecordingCifClient must record what a real host would have received: the host's messaging
// copies the whole call at the call, not only its data.
import { expect } from 'chai';
import type { CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';

const DATA: CifAnalyticsData = { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z' }] };

describe('RecordingCifClient: the arguments beside data', () => {
  it('keeps eventName and correlationId as they were at the call, when the widget changes its objects later', async () => {
    // RecordedCifCall is "one logAnalyticsEvent call, as the client received it"; data is cloned at
    // the call, but an eventName or correlationId object is kept by reference, so a change the
    // widget makes later rewrites the recorded call.
    const client = new RecordingCifClient();
    const correlation = { id: 'first' };
    const name = ['CallAccepted'];
    await client.logAnalyticsEvent(DATA, name as unknown as string, correlation as unknown as string);
    correlation.id = 'changed later';
    name[0] = 'changed later';
    expect(client.calls[0]).to.deep.equal({ data: DATA, eventName: ['CallAccepted'], correlationId: { id: 'first' } });
  });

  it('fails the call unrecorded when the eventName or correlationId cannot be copied, as it does for data', async () => {
    // docs/browser.md: "data it cannot clone (a function, a proxy, a getter that throws) fails the
    // call unrecorded, as there". The host's messaging carries the other arguments too, so a
    // function given as correlationId (a widget that passed `traceIdToGuid` rather than its answer)
    // never reaches the host either.
    const client = new RecordingCifClient();
    const outcome = await client.logAnalyticsEvent(DATA, 'CallAccepted', (() => 'guid') as unknown as string).then(
      () => 'resolved',
      (error: unknown) => (error as Error).name,
    );
    expect([outcome, client.calls.length]).to.deep.equal(['DataCloneError', 0]);
  });
});
