// What the outbox's browser tests share: the loads of a widget page (its stand-in CIF host and the
// KPI events it records in one trace), the tabs a test opens, and what each tab's host received.
import { expect } from 'chai';
import type { RecordedCifCall } from '../../src/testing/index.js';
import type { TestBrowser } from './browsers.js';

/** One load of a widget page: its stand-in CIF host and the KPI events it records in one trace. */
export interface WidgetLoad {
  /**
   * `none`: no CIF library; `starting`: present, not started while this page lives; `late`:
   * started shortly after the page loads (span pages only); `ready`: started; `silent`: started,
   * never answers.
   */
  cif: 'none' | 'starting' | 'late' | 'ready' | 'silent';
  /** The correlationId of its calls: the trace id, as CIF shows it. */
  correlationId: string;
  conversationId: string;
  events: Array<[kpiEventName: string, eventTimestamp: string]>;
  /** `now`: the page flushes at once; `hide`: the batch processor exports when the page is hidden. */
  flush?: 'now' | 'hide';
}

/** What one load of the widget left when the test went on: its host's calls, and the outbox's entries. */
export interface Seen {
  host: RecordedCifCall[];
  stored: number;
  /** Uncaught errors and console errors of the tab since the last look, and diag warnings of the page. */
  problems: string[];
}

/** What the test waits for before it looks: at least `calls` calls at the host, and `stored` entries. */
export interface Until {
  calls?: number;
  stored?: number;
}

export type Tab = Awaited<ReturnType<TestBrowser['newPage']>>;

/**
 * How long all the waits of one test may last before it looks anyway: what it sees then fails the
 * assertion with a diff of what each page's host got, within the test's timeout. A bound for a
 * failing run only: one wait took 1.9 s on a machine loaded to one busy core.
 */
const WAIT_MILLIS = 40_000;
/** `maxConcurrentCalls`' default: calls beyond it wait behind the slots. */
const SLOTS = 8;

/** The calls a load's KPI events make: one each, with the load's identity and correlationId. */
export const callsOf = ({ conversationId, correlationId, events }: WidgetLoad): RecordedCifCall[] =>
  events.map(([kpiEventName, eventTimestamp]) => ({
    data: { conversationId, providerSessionId: `CA-${conversationId}`, events: [{ kpiEventName, eventTimestamp }] },
    eventName: kpiEventName,
    correlationId,
  }));

/** A load whose calls have `correlationId` (digit `n` throughout) and whose KPI events are `names`, a second apart. */
export function load(cif: WidgetLoad['cif'], n: number, names: string[], flush: WidgetLoad['flush'] = 'now'): WidgetLoad {
  return {
    cif,
    correlationId: `${n}`.repeat(8) + `-${n}${n}${n}${n}`.repeat(3) + '-' + `${n}`.repeat(12),
    conversationId: `conv-${n}`,
    events: names.map((name, i) => [name, new Date(Date.UTC(2026, 10, 25, 10, n, i, 123)).toISOString()]),
    flush,
  };
}

/** What a tab shows when nothing went wrong. */
export const seen = (host: RecordedCifCall[], stored = 0): Seen => ({ host, stored, problems: [] });

/**
 * The tabs of one suite's widget pages, at `url()` + `<widget>.html`, opened in `browser()` and
 * closed after each test. Each page says what it has on `window.widget`.
 */
export function widgetTabs(browser: () => TestBrowser, url: () => string) {
  let tabs: Tab[] = [];
  let deadline = 0;
  beforeEach(() => (deadline = Date.now() + WAIT_MILLIS));
  afterEach(async () => {
    await Promise.all(tabs.map(({ page }) => page.close()));
    tabs = [];
  });

  const urlOf = (widget: string, { cif, correlationId, conversationId, events, flush }: WidgetLoad) => {
    const query = JSON.stringify({ cif, trace: correlationId.replaceAll('-', ''), conv: conversationId, events, flush });
    return `${url()}${widget}.html?widget=${encodeURIComponent(query)}`;
  };

  const look = (tab: Tab) =>
    tab.page.evaluate(() => {
      const { widget } = window as unknown as { widget: { calls: RecordedCifCall[]; stored(): number; warnings: string[] } };
      return { host: widget.calls, stored: widget.stored(), warnings: widget.warnings };
    });

  /** Polls `check` until it holds, or the test's waits have had WAIT_MILLIS; says whether it held. */
  async function waitFor(check: () => Promise<boolean>): Promise<boolean> {
    while (!(await check())) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  const widgetTab = {
    look,
    waitFor,
    /** A new tab of `widget`, loaded as `widgetLoad` says. */
    async open(widget: string, widgetLoad: WidgetLoad): Promise<Tab> {
      const tab = await browser().newPage();
      tabs.push(tab);
      await tab.page.goto(urlOf(widget, widgetLoad));
      return tab;
    },
    /** Reloads the tab's widget page, this time loaded as `widgetLoad` says. */
    async reload(tab: Tab, widget: string, widgetLoad: WidgetLoad): Promise<void> {
      await tab.page.evaluate((next) => history.replaceState(null, '', next), urlOf(widget, widgetLoad));
      await tab.page.reload();
    },
    /** Waits until the tab's page has what `until` says, or WAIT_MILLIS, then says what it has. */
    async observe(tab: Tab, { calls = 0, stored = 0 }: Until): Promise<Seen> {
      await waitFor(async () => {
        const now = await look(tab);
        return now.host.length >= calls && now.stored === stored;
      });
      const { host, stored: entries, warnings } = await look(tab);
      return { host, stored: entries, problems: [...tab.errors.splice(0), ...warnings] };
    },
    /**
     * Closes the tab, then waits until the origin holds none of the locks it held: Chromium may let go
     * of a closed page's locks a moment after `close()` resolves, and a tab opened meanwhile would take
     * that page's calls only then, after its own.
     */
    async close(tab: Tab): Promise<void> {
      const heldBy = (page: Tab['page']) => page.evaluate(async () => ((await navigator.locks.query()).held ?? []).map(({ name }) => name));
      const held = await heldBy(tab.page);
      await tab.page.close();
      const other = await browser().newPage();
      tabs.push(other);
      // The server's listing of its files: a page of the origin, with no widget.
      await other.page.goto(url());
      const freed = await waitFor(async () => {
        const now = await heldBy(other.page);
        return !held.some((name) => now.includes(name));
      });
      expect(freed, "the closed page's locks are let go").to.equal(true);
    },
    /** Waits until this page of the widget holds its outbox's lock (its entries are written from then on). */
    async outboxLocked(tab: Tab): Promise<void> {
      const locked = await waitFor(() =>
        tab.page.evaluate(async () => {
          const { held = [] } = await navigator.locks.query();
          return held.some(({ name }) => name?.startsWith(`otel-cif/${location.pathname}/`));
        }),
      );
      expect(locked, 'the page holds its outbox lock').to.equal(true);
    },
    /**
     * A page of the `tabs` widget with no CIF keeps two calls and closes; two tabs open, each with
     * a call of its own, and CIF comes to both at once. Gives what each saw, and what the outbox
     * promises: one tab, the one whose host got the closed page's first call (the left one, if
     * neither did), sends all of the closed page's calls, since it takes them under that page's
     * lock, and each tab its own.
     */
    async twoTabsTakeOver(): Promise<{ seen: unknown; promised: unknown }> {
      const [closed, left, right] = [load('none', 1, ['CallAccepted', 'CallHold']), load('none', 2, ['CallResume']), load('none', 3, ['CallEnded'])];
      const closing = await widgetTab.open('tabs', closed);
      const closedSeen = await widgetTab.observe(closing, { stored: 2 });
      await widgetTab.close(closing);
      // Both tabs find the stored calls while CIF is not there yet, then CIF comes to both at once.
      const both = await Promise.all([widgetTab.open('tabs', left), widgetTab.open('tabs', right)]);
      const storedAtStart = (await widgetTab.observe(both[0]!, { stored: 4 })).stored;
      await Promise.all(both.map(({ page }) => page.evaluate(() => (window as unknown as { widget: { loadCif(): void } }).widget.loadCif())));
      await waitFor(async () => {
        const [a, b] = await Promise.all(both.map(look));
        return a!.host.length + b!.host.length >= 4 && a!.stored === 0;
      });
      const tabsSeen = await Promise.all(both.map((tab) => widgetTab.observe(tab, {})));
      const taker = Math.max(0, tabsSeen.findIndex(({ host }) => host.some(({ correlationId }) => correlationId === closed.correlationId)));
      return {
        seen: { closedSeen, storedAtStart, tabsSeen },
        promised: {
          closedSeen: seen([], 2),
          storedAtStart: 4,
          tabsSeen: [left, right].map((own, i) => seen([...(i === taker ? callsOf(closed) : []), ...callsOf(own)])),
        },
      };
    },
    /**
     * A page of the `silent` widget hands `SLOTS` calls to a host that never answers and stores the
     * two behind them; it reloads twice with CIF ready. Gives what each load saw, and what the
     * outbox promises: the calls handed over are never sent again, those queued behind them once.
     */
    async silentHostStory(): Promise<{ seen: Seen[]; promised: Seen[] }> {
      const names = Array.from({ length: SLOTS + 2 }, (_, i) => `Step${i + 1}`);
      const [silent, reloaded, later] = [load('silent', 1, names), load('ready', 2, ['CallResume']), load('ready', 3, ['CallEnded'])];
      const tab = await widgetTab.open('silent', silent);
      const story = [await widgetTab.observe(tab, { calls: SLOTS, stored: 2 })];
      await widgetTab.reload(tab, 'silent', reloaded);
      story.push(await widgetTab.observe(tab, { calls: 3 }));
      await widgetTab.reload(tab, 'silent', later);
      story.push(await widgetTab.observe(tab, { calls: 1 }));
      const [handedOver, queued] = [callsOf(silent).slice(0, SLOTS), callsOf(silent).slice(SLOTS)];
      return { seen: story, promised: [seen(handedOver, 2), seen([...queued, ...callsOf(reloaded)]), seen(callsOf(later))] };
    },
  };
  return widgetTab;
}
