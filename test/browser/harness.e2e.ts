// The browser tests assert that a page had no uncaught error and logged no console error: this holds
// that each browser's test page tells of them, so that those assertions can fail in each.
import { expect } from 'chai';
import { BROWSERS } from './browsers.js';
import { useFixturePages } from './serve.js';

const PAGE = `<!doctype html><meta charset="utf-8"><script>
  console.error('at load');
  console.warn('warned');
  setTimeout(() => { throw new Error('thrown in a timer'); });
  Promise.reject(new Error('rejected'));
</script><iframe src="frame.html"></iframe>`;

for (const [browserName, launch] of BROWSERS) describe(`the test pages of ${browserName}`, function () {
  this.timeout(60_000);
  const served = useFixturePages({ 'index.html': PAGE, 'frame.html': '<!doctype html><p>frame</p>' }, [], undefined, launch);

  it("tell of the page's uncaught errors, unhandled rejections, console errors and warnings, and give what it evaluates", async () => {
    const { page, errors, warnings } = await served.browser.newPage();
    await page.goto(`${served.url}index.html`);
    await page.waitForFunction(() => document.readyState === 'complete');
    const frame = page.frames().find((f) => f.url().endsWith('frame.html'));
    const values = {
      value: await page.evaluate(() => ({ list: [1, 'two', null], text: 'é' })),
      awaited: await page.evaluate(async (n) => n + 1, 1),
      none: await page.evaluate(() => undefined),
      frame: await frame?.evaluate(() => document.body.textContent),
    };
    const thrown = await page.evaluate(() => Promise.reject(new Error('from evaluate'))).then(
      () => 'resolved',
      (error: Error) => error.message.includes('from evaluate'),
    );
    // The timer's error has come by the time a later timer fires.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 50)));
    await page.evaluate(() => console.error('after load'));
    // Each browser words an uncaught error its own way: the test looks for the error's message.
    const seen = (text: string) => errors.filter((line) => line.includes(text)).length;
    expect({
      ...values,
      thrown,
      errors: ['at load', 'thrown in a timer', 'rejected', 'after load'].map(seen),
      warnings: warnings.filter((line) => line.includes('warned')).length,
    }).to.deep.equal({
      value: { list: [1, 'two', null], text: 'é' },
      awaited: 2,
      none: undefined,
      frame: 'frame',
      thrown: true,
      errors: [1, 1, 1, 1],
      warnings: 1,
    });
    await page.close();
  });
});
