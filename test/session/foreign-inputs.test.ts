import { ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { CifSessionSpanProcessor, getCifSession, setCifSession, withCifSession, type CifSession, type CifStartingSpan } from '../../src/index.js';
import { CifSessionLogRecordProcessor, type CifEmittingLogRecord } from '../../src/logs.js';
import type { normalizeSession } from '../../src/options.js';
import { check } from '../../src/validate.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';

const CALL: CifSession = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('the session helpers, given what other SDKs and CIF make', () => {
  it('catch the rejection of a span or log record of another SDK whose setAttribute answers with a promise', async () => {
    captureDiag();
    const ctx = setCifSession(ROOT_CONTEXT, CALL);
    const asyncTarget = () => ({
      attributes: {},
      setAttribute: async () => {
        throw new Error('read-only');
      },
    });
    const unhandled = await unhandledRejectionsOf(() => {
      new CifSessionSpanProcessor().onStart(asyncTarget() as unknown as CifStartingSpan, ctx);
      new CifSessionLogRecordProcessor().onEmit(asyncTarget() as unknown as CifEmittingLogRecord, ctx);
    });
    expect(unhandled).to.deep.equal([]);
  });

  it("says of a session given as CIF getSession's Map that it must be a plain object", () => {
    const lines = captureLevels();
    const fromGetSession = new Map([['conversationId', 'conv-1']]);
    expect(getCifSession(setCifSession(ROOT_CONTEXT, fromGetSession as unknown as CifSession))).to.deep.equal({});
    // At WARN, or at DEBUG once another test warned of the field.
    expect(lines.map((line) => line.replace(/^(warn|debug) /, ''))).to.deep.equal(['setCifSession: `session` must be a plain object (got [object Map]). It is left out.']);
  });

  it('names withCifSession in the warnings of a session given to it, as the function the widget called', () => {
    const lines = captureLevels();
    withCifSession({ ...CALL, participantId: 7 } as unknown as CifSession, () => {});
    // At WARN, or at DEBUG once another test warned of the field.
    expect(lines.map((line) => line.replace(/^(warn|debug) /, ''))).to.deep.equal([
      'withCifSession: `session.participantId` must be a string of at most 100 characters (got 7). It is left out.',
    ]);
  });

  it('warns of a field left out once per page, then at DEBUG, as a page sets its sessions at every call', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const copy = (await import(`../../src/options.ts?session-warned-${Date.now()}`)) as { normalizeSession: typeof normalizeSession };
    const lines = captureLevels();
    for (let i = 0; i < 3; i++) copy.normalizeSession({ conversationId: 'conv-1', providerSessionId: 4711 } as unknown as CifSession, check('setCifSession:'), ' It is left out.');
    const warning = 'setCifSession: `session.providerSessionId` must be a string of at most 100 characters (got 4711). It is left out.';
    expect(lines).to.deep.equal([`warn ${warning}`, `debug ${warning}`, `debug ${warning}`]);
  });

  it('warns of a session that is no object apart from its fields: a Map after a conversationId', async () => {
    const copy = (await import(`../../src/options.ts?session-apart-${Date.now()}`)) as { normalizeSession: typeof normalizeSession };
    const leftOut = (session: unknown) => copy.normalizeSession(session as CifSession, check('setCifSession:'), ' It is left out.');
    const lines = captureLevels();
    leftOut({ conversationId: 7 });
    leftOut(new Map([['conversationId', 'conv-1']]));
    expect(lines.map((line) => line.split(' ', 2).join(' '))).to.deep.equal(['warn setCifSession:', 'warn setCifSession:']);
  });
});
