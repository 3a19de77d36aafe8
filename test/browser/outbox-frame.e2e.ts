import { expect } from 'chai';
import { BROWSERS, type TestFrame, type TestPage } from './browsers.js';
import { servePage, useFixturePage, type ServedPage } from './serve.js';

interface OutboxPage {
  start(name: string | undefined): boolean;
  add(names: string[]): void;
  claimed(): string[];
  logs(): string[];
}

/**
 * Two organisations' pages, at two origins of one site (as every Dynamics 365 organisation is on
 * dynamics.com), frame the same widget: the frame's storage is shared by both, its outbox is not.
 */
for (const [browserName, launch] of BROWSERS) describe(`the outbox's default name in a frame, in ${browserName}`, function () {
  this.timeout(60_000);
  const fixture = useFixturePage('outbox-page', { launch });
  const tops: ServedPage[] = [];
  after(() => Promise.all(tops.map((top) => top.stop())));

  /** A top page at an origin of its own (a port on 127.0.0.1) that frames the widget. */
  async function organisation(): Promise<string> {
    const top = await servePage({ 'index.html': `<!doctype html><iframe src="${fixture.url}"></iframe>` });
    tops.push(top);
    return top.url;
  }

  /** The widget in a new tab of the top page at `url`, its outbox started with the default name. */
  async function widget(url: string): Promise<{ page: TestPage; frame: TestFrame; errors: string[] }> {
    const { page, errors } = await fixture.browser.newPage();
    await page.goto(url);
    const frame = page.frames().find((f) => f.url().startsWith(fixture.url))!;
    await frame.waitForFunction(() => 'outboxPage' in window);
    expect(await run(frame, (outbox) => outbox.start(undefined))).to.equal(true);
    await frame.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.logs().some((line) => line.startsWith('outbox: storing as ')));
    return { page, frame, errors };
  }

  const run = <T>(frame: TestFrame, body: (outbox: OutboxPage) => T) => frame.evaluate(`(${body.toString()})(window.outboxPage)`) as Promise<Awaited<T>>;

  it("names the widget's calls after the top page's origin, so another organisation's page never claims them", async () => {
    const [contoso, fabrikam] = await Promise.all([organisation(), organisation()]);
    const first = await widget(contoso);
    await run(first.frame, (outbox) => outbox.add(['CallAccepted', 'CallEnded']));
    const keys = await first.frame.evaluate(() => Object.keys(localStorage));
    // The name: the top page's origin, then the widget's path, `/`.
    const name = `${new URL(contoso).origin}/`;
    expect(keys.map((key) => key.replace(/[0-9a-f-]{36}/, '<page>')).sort()).to.deep.equal([`otel-cif/${name}/<page>/0`, `otel-cif/${name}/<page>/1`]);
    await first.page.close();

    // The other organisation's widget finds nothing of its own. Chromium and Firefox partition a frame's storage by the
    // site of the page at the top, so it shares the frame's storage; WebKit keeps it apart even between origins of one site.
    const other = await widget(fabrikam);
    expect(await other.frame.evaluate(() => Object.keys(localStorage).length)).to.equal(browserName === 'WebKit' ? 0 : 2);
    expect(await run(other.frame, (outbox) => outbox.claimed())).to.deep.equal([]);

    const next = await widget(contoso);
    await next.frame.waitForFunction(() => (window as unknown as { outboxPage: OutboxPage }).outboxPage.claimed().length === 2);
    expect(await run(next.frame, (outbox) => outbox.claimed())).to.deep.equal(['CallAccepted', 'CallEnded']);
    expect(await run(other.frame, (outbox) => outbox.claimed())).to.deep.equal([]);
    expect([...first.errors, ...other.errors, ...next.errors]).to.deep.equal([]);
    await Promise.all([other.page.close(), next.page.close()]);
  });
});
