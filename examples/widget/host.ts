// Plays the Dynamics 365 host: after a short delay (the CIF library loading) it installs a fake
// Microsoft.CIFramework, which fires CIFInitDone, and lists each logAnalyticsEvent call.
import { RecordingCifClient, installFakeCIFramework, type RecordedCifCall } from '../../src/testing/index.js';

const LOAD_DELAY_MILLIS = 1500;

const client = new RecordingCifClient({ onCall: show });
// Read by the end-to-end tests.
(window as unknown as { cifHost: { calls: RecordedCifCall[] } }).cifHost = { calls: client.calls };

setTimeout(() => {
  installFakeCIFramework(window, client);
  const status = document.getElementById('cif-status')!;
  status.textContent = 'CIFInitDone: Microsoft.CIFramework is ready';
  status.className = 'status ready';
}, LOAD_DELAY_MILLIS);

function show(call: RecordedCifCall, index: number): void {
  const item = document.createElement('li');
  const head = document.createElement('div');
  head.className = 'call-head';
  head.append(
    text('span', `#${index + 1}`),
    text('span', call.eventName, 'event-name'),
    text('span', `correlationId ${call.correlationId ?? '–'}`, 'correlation'),
  );
  const payload = text('pre', typeof call.data === 'string' ? call.data : JSON.stringify(call.data, null, 2));
  item.append(head, payload);
  document.getElementById('calls')!.append(item);
}

function text(tag: string, content: string, className?: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}
