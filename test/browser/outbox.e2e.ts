import { expect } from 'chai';
import type { TestPage } from './browsers.js';
import type { OutboxStats } from '../../src/delivery/outbox.js';
import { BROWSERS } from './browsers.js';
import { useFixturePage } from './serve.js';

interface OutboxPage {
  start(name: string): boolean;
  add(names: string[]): void;
  stored(name: string): string[];
  claimed(): string[];
  logs(): string[];
  stats(): OutboxStats;
}

const STILL_OPEN = 'outbox: waiting for 1 open page(s) to close';

for (const [browserName, launch] of BROWSERS) describe(`the outbox over localStorage and Web Locks, in two ${browserName} tabs`, function () {
  this.timeout(60_000);
  const fixture = useFixturePage('outbox-page', { launch });

  /** A new tab with its outbox started under `name`. */
  async function tab(name: string): Promise<{ page: TestPage; errors: string[] }> {
    const opened = await fixture.browser.newPage();
    await opened.page.goto(fixture.url);
    expect(await opened.page.evaluate((n) => (window as unknown as { outboxPage: OutboxPage }).outboxPage.start(n), name)).to.equal(true);
    return opened;
  }

  const run = <T>(page: TestPage, body: (outbox: OutboxPage) => T) =>
    page.evaluate(`(${body.toString()})(window.outboxPage)`) as Promise<Awaited<T>>;

  /** Waits until `name` has `count` entries in the origin's localStorage. */
  const storedCount = (page: TestPage, name: string, count: number) =>
    page.waitForFunction(
      ([n, c]) => (window as unknown as { outboxPage: OutboxPage }).outboxPage.stored(n as string).length === c,
      [name, count] as const,
    );
  const logged = (page: TestPage, line: string) =>
    page.waitForFunction((l) => (window as unknown as { outboxPage: OutboxPage }).outboxPage.logs().includes(l), line);

  it('lets exactly one of two tabs claim the calls of a tab that was closed, oldest first', async () => {
    const first = await tab('closed');
    await run(first.page, (outbox) => outbox.add(['A0', 'A1', 'A2']));
    await storedCount(first.page, 'closed', 3);
    await first.page.close();

    const [second, third] = await Promise.all([tab('closed'), tab('closed')]);
    // One tab takes the calls; the other then waits for that tab's hold on the closed one's lock.
    await Promise.race([logged(second.page, STILL_OPEN), logged(third.page, STILL_OPEN)]);
    await Promise.any([
      second.page.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.claimed().length === 3),
      third.page.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.claimed().length === 3),
    ]);
    const claims = await Promise.all([second, third].map(({ page }) => run(page, (outbox) => outbox.claimed())));
    expect(claims.sort((a, b) => b.length - a.length)).to.deep.equal([['A0', 'A1', 'A2'], []]);
    expect(await run(second.page, (outbox) => outbox.stored('closed').length)).to.equal(3);
    expect([...first.errors, ...second.errors, ...third.errors]).to.deep.equal([]);
    await Promise.all([second.page.close(), third.page.close()]);
  });

  it("never claims the calls of a tab still open, and takes them over when it closes", async () => {
    const open = await tab('open');
    await run(open.page, (outbox) => outbox.add(['B0', 'B1']));
    await storedCount(open.page, 'open', 2);

    const other = await tab('open');
    await logged(other.page, STILL_OPEN);
    expect(await run(other.page, (outbox) => outbox.claimed())).to.deep.equal([]);

    await open.page.close();
    await other.page.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.claimed().length > 0);
    expect(await run(other.page, (outbox) => outbox.claimed())).to.deep.equal(['B0', 'B1']);
    expect(await run(other.page, (outbox) => outbox.stats())).to.include({ stored: 0, storeErrors: 0 });
    expect([...open.errors, ...other.errors]).to.deep.equal([]);
    await other.page.close();
  });

  it('takes over the calls of a tab opened after it once that tab closes, knowing it by its writes', async () => {
    const first = await tab('later');
    const later = await tab('later');
    await run(later.page, (outbox) => outbox.add(['C0', 'C1']));
    await storedCount(later.page, 'later', 2);
    await logged(first.page, STILL_OPEN);
    expect(await run(first.page, (outbox) => outbox.claimed())).to.deep.equal([]);

    await later.page.close();
    await first.page.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.claimed().length > 0);
    expect(await run(first.page, (outbox) => outbox.claimed())).to.deep.equal(['C0', 'C1']);
    expect([...first.errors, ...later.errors]).to.deep.equal([]);
    await first.page.close();
  });
});
