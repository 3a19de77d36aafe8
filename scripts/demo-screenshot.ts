// `npm run demo:screenshot`: retakes docs/demo.png, the demo after an accepted, held, resumed,
// transferred and ended call. Run it by hand after changing the demo; tests never write it.
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.js';
import { startDemo } from './demo.js';

const SCREENSHOT = fileURLToPath(new URL('../docs/demo.png', import.meta.url));

const demo = await startDemo();
const browser = await launchChromium();
try {
  const { page, errors } = await browser.newPage();
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(`${demo.url}?cifLoadDelay=0`);
  await page.locator('#cif-status', { hasText: 'CIFInitDone' }).waitFor();
  for (const button of ['#ring', '#accept', '#hold', '#hold', '#transfer', '#end']) await page.click(button);
  await page.locator('#exporter-state', { hasText: '6 KPI events delivered' }).waitFor();
  if (errors.length > 0) throw new Error(`the demo logged errors:\n${errors.join('\n')}`);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`Wrote ${SCREENSHOT}`);
} finally {
  await browser.close();
  await demo.stop();
}
