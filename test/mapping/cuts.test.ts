// Where a value over its column is cut, through the real SDKs: before the character the limit falls
// in, with the page's Intl.Segmenter, without one, and with one that throws or answers nonsense.
import { expect } from 'chai';
import { spanPipeline } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const IDS = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** Whether `text` holds no surrogate without its other half. */
const wellFormed = (text: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);

/** What a page's `Intl.Segmenter` is built from here: the text it is handed, and where it says a grapheme starts. */
type Containing = (text: string, at: number) => { index: number } | undefined;
const native = (Intl as unknown as { Segmenter: new () => { segment(text: string): { containing(at: number): { index: number } | undefined } } }).Segmenter;

/** Runs `fn` with the page's `Intl.Segmenter` replaced by one answering with `containing`, or with none (`undefined`). */
async function withSegmenter<T>(containing: Containing | undefined, fn: () => Promise<T>): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(Intl, 'Segmenter')!;
  const Page = containing && class {
    segment(text: string) {
      return { containing: (at: number) => containing(text, at) };
    }
  };
  Object.defineProperty(Intl, 'Segmenter', { ...own, value: Page });
  try {
    return await fn();
  } finally {
    Object.defineProperty(Intl, 'Segmenter', own);
  }
}

/** The KPI event sent for one span event with `attributes`, and the exporter's stats. */
async function sendOne(attributes: Record<string, string>) {
  const { client, exporter, tracer, flush } = spanPipeline();
  const span = tracer.startSpan('call', { attributes: IDENTITY });
  span.addEvent('CallAccepted', attributes, new Date(T1));
  span.end();
  await flush();
  return { payloads: client.payloads(), stats: exporter.getStats() };
}

describe('where a cut ends', () => {
  // A character longer than its column is cut inside, wherever it starts: before it, the value would lose it all.
  const longGraphemes: Array<[what: string, key: string, value: string, sent: string]> = [
    (() => {
      const value = `Caller: e${'\u0301'.repeat(150)}`; // "Zalgo" text: a letter under 150 combining marks.
      return ['a letter with 150 combining marks after a short prefix', 'cif.kpi.reason', value, value.slice(0, 100)] as [string, string, string, string];
    })(),
    (() => {
      const value = `Notes: ${'😀\u200d'.repeat(700)}😀`; // Emoji joined by zero-width joiners: one grapheme of 2101 units.
      // The fallback steps back from the high surrogate at 1999.
      return ['a run of 700 emoji joined by zero-width joiners across additionalData\'s 2000', 'cif.kpi.additional_data', value, value.slice(0, 1999)] as [string, string, string, string];
    })(),
  ];
  longGraphemes.forEach(([what, key, value, sent]) =>
    it(`cuts ${what} inside that grapheme, longer than the column, as it does one that starts the value: not down to the prefix`, async () => {
      const { payloads, stats } = await sendOne({ [key]: value });
      const field = key === 'cif.kpi.reason' ? 'kpiEventReason' : 'additionalData';
      expect(payloads[0]?.events[0]?.[field]?.length, 'units sent').to.equal(sent.length);
      expect(payloads).to.deep.equal([{ ...IDS, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, [field]: sent }] }]);
      expect(stats.truncated[field]).to.equal(1);
    }),
  );

  it('hands the page\'s Intl.Segmenter no more of a 1 MB additionalData than the cut at 2000 needs', async () => {
    // Native Intl.Segmenter copies the whole text it is handed: the cut hands it what the character at the limit needs.
    const handed: number[] = [];
    const value = `${'x'.repeat(1_000_000)}`;
    const { payloads } = await withSegmenter(
      (text, at) => {
        handed.push(text.length);
        return new native().segment(text).containing(at);
      },
      () => sendOne({ 'cif.kpi.additional_data': value }),
    );
    expect(payloads[0]?.events[0]?.additionalData).to.equal('x'.repeat(2000));
    expect(handed).to.have.length(1);
    expect(handed[0], 'units handed to the segmenter').to.be.at.most(2 * 2000 + 2);
  });

  it('never ends a cut inside a surrogate pair on the answer of a page Segmenter that counts code points, not UTF-16 units', async () => {
    // A polyfill that indexes code points (Array.from) answers 100 for the 'b' at unit 111; unit 99 starts an emoji.
    const byCodePoint: Containing = (text, at) => (at < Array.from(text).length ? { index: at } : undefined);
    const value = `${'a'.repeat(31)}${'😀'.repeat(40)}${'b'.repeat(40)}`;
    const { payloads, stats } = await withSegmenter(byCodePoint, () => sendOne({ 'cif.kpi.reason': value }));
    const reason = payloads[0]?.events[0]?.kpiEventReason ?? '';
    expect(reason.length).to.be.at.most(100);
    expect(wellFormed(reason), JSON.stringify(reason.slice(-4))).to.equal(true);
    expect(stats.truncated.kpiEventReason).to.equal(1);
  });

  // Ordinary values, cut as the docs say, with the page's Segmenter, without one, and with one that throws.
  const ordinary: Array<[what: string, value: string, withSegmenter: string, without: string]> = [
    ['ASCII text', 'a'.repeat(150), 'a'.repeat(100), 'a'.repeat(100)],
    ['CJK text', '漢'.repeat(150), '漢'.repeat(100), '漢'.repeat(100)],
    ['CJK of a supplementary plane, a surrogate pair each', `a${'𠀀'.repeat(60)}`, `a${'𠀀'.repeat(49)}`, `a${'𠀀'.repeat(49)}`],
    // Unit 100 is a kasra on the beh at 99: the letter goes with its mark.
    ['Arabic with marks', `a${'بِسْمِ '.repeat(20)}`, `a${'بِسْمِ '.repeat(14)}`, `a${'بِسْمِ '.repeat(14)}بِ`.slice(0, 100)],
    ['a run of thumbs with a skin tone', `a${'👍🏽'.repeat(40)}`, `a${'👍🏽'.repeat(24)}`, `a${'👍🏽'.repeat(24)}👍`],
    ['a run of flags', `a${'🇫🇷'.repeat(40)}`, `a${'🇫🇷'.repeat(24)}`, `a${'🇫🇷'.repeat(24)}🇫`],
    ['CR LF across the limit', `${'a'.repeat(99)}\r\nb`, 'a'.repeat(99), `${'a'.repeat(99)}\r`],
  ];
  const pages: Array<[page: string, containing: Containing | undefined | 'native', column: 2 | 3]> = [
    ['with Intl.Segmenter', 'native', 2],
    ['without Intl.Segmenter (Firefox before 125)', undefined, 3],
    ['with an Intl.Segmenter that throws', () => {
      throw new Error('polyfill broken');
    }, 3],
    ['with an Intl.Segmenter that answers NaN', () => ({ index: Number.NaN }), 3],
    ['with an Intl.Segmenter that answers past the limit', (text) => ({ index: text.length }), 3],
  ];
  pages.forEach(([page, containing, column]) =>
    ordinary.forEach((row) =>
      it(`cuts ${row[0]} ${page} at a whole character, never inside a surrogate pair, and counts it`, async () => {
        const run = () => sendOne({ 'cif.kpi.reason': row[1] });
        const { payloads, stats } = containing === 'native' ? await run() : await withSegmenter(containing, run);
        expect(payloads).to.deep.equal([{ ...IDS, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, kpiEventReason: row[column] }] }]);
        expect(stats.truncated.kpiEventReason).to.equal(1);
      }),
    ),
  );

  it('cuts a ZWJ family across additionalData\'s 2000 before the family, with Intl.Segmenter', async () => {
    const { payloads } = await sendOne({ 'cif.kpi.additional_data': `${'a'.repeat(1995)}👨‍👩‍👧‍👦b` });
    expect(payloads[0]?.events[0]?.additionalData).to.equal('a'.repeat(1995));
  });
});
