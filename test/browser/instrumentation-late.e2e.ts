import { expect } from 'chai';
import { BROWSERS } from './browsers.js';
import { useFixturePage } from './serve.js';

for (const [browserName, launch] of BROWSERS) describe(`CifInstrumentation with a CIF library that starts late, in ${browserName}`, function () {
  this.timeout(60_000);
  const fixture = useFixturePage('instrumentation-late-page', { launch });

  // The page runs the listeners of CIFInitDone on window in the order they were added, capture or not.
  it("traces the calls of the widget's CIFInitDone listeners added after it is enabled, not of those added before", async () => {
    const { page, errors } = await fixture.browser.newPage();
    await page.goto(fixture.url);
    const results = await page.evaluate(() =>
      (window as unknown as { instrumentationLatePage: { results(): Promise<unknown> } }).instrumentationLatePage.results(),
    );
    expect(results).to.deep.equal({ calls: 2, spans: ['Microsoft.CIFramework/setPresence'] });
    expect(errors).to.deep.equal([]);
  });
});
