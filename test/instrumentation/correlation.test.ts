import { expect } from 'chai';
import { CORRELATION_ID_POSITIONS, withCorrelationId } from '../../src/instrumentation/correlation.js';
import { TRACE_GUID, TRACE_ID } from '../helpers/spans.js';

describe('withCorrelationId', () => {
  // The documented syntax of each method (docs/instrumentation.md), written out so that a method
  // dropped from the list, or moved, fails here.
  const documented: Array<[method: string, args: unknown[]]> = [
    ['logAnalyticsEvent', [{ events: [] }, 'CallHold']],
    ['createSession', [{ templateName: 'msdyn_chat' }]],
    ['requestFocusSession', ['session-2']],
    ['updateConversation', ['conversation-1', { subject: 'billing' }]],
    ['updateContext', [{ customer: 'Contoso' }, 'session-1', false]],
    ['createTab', [{ templateName: 'contact' }]],
    ['focusTab', ['tab-1']],
    ['closeTab', ['tab-1']],
    ['refreshTab', ['tab-1']],
  ];

  documented.forEach(([method, args]) =>
    it(`gives ${method}(${args.map((a) => JSON.stringify(a)).join(', ')}) the trace id as its last argument, a GUID`, () => {
      expect(withCorrelationId(method, args, TRACE_ID)).to.deep.equal([...args, TRACE_GUID]);
    }),
  );

  it('knows exactly the documented methods', () => {
    expect([...CORRELATION_ID_POSITIONS.keys()].sort()).to.deep.equal(documented.map(([method]) => method).sort());
  });
});
