// Plays the Dynamics 365 host: after a short delay (the CIF library loading) it installs a fake
// Microsoft.CIFramework, which fires CIFInitDone, and lists each logAnalyticsEvent call.
// `?cifLoadDelay=` sets the delay in milliseconds; `?cifLoadDelay=never` waits for `cifHost.load()`.
import type { CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient, installFakeCIFramework, type RecordedCifCall } from '../../src/testing/index.js';

const loadDelay = new URLSearchParams(location.search).get('cifLoadDelay') ?? '1500';

const client = new RecordingCifClient({ onCall: show });
// Used by the end-to-end tests.
(window as unknown as { cifHost: CifHost }).cifHost = { calls: client.calls, load };

if (loadDelay !== 'never') setTimeout(load, Number(loadDelay));

function load(): void {
  installFakeCIFramework(window, client);
  const status = document.getElementById('cif-status')!;
  status.textContent = 'CIFInitDone: Microsoft.CIFramework is ready';
  status.className = 'status ready';
}

/** What the page shows the end-to-end tests as `window.cifHost`. */
export interface CifHost {
  calls: RecordedCifCall[];
  load(): void;
}

function show(call: RecordedCifCall, index: number): void {
  const item = document.createElement('li');
  const head = document.createElement('div');
  head.className = 'call-head';
  head.append(
    text('span', `#${index + 1}`),
    text('span', call.eventName, 'event-name'),
    text('span', `correlationId ${call.correlationId ?? '–'}`, 'correlation'),
  );
  item.append(head, fields(typeof call.data === 'string' ? JSON.parse(call.data) : call.data));
  document.getElementById('calls')!.append(item);
}

/** The payload one field a line: the ids as they are, each KPI event as indented JSON. */
function fields(data: CifAnalyticsData): HTMLElement {
  const list = document.createElement('dl');
  const { events, ...identity } = data;
  for (const [name, value] of Object.entries(identity)) list.append(text('dt', name), text('dd', String(value)));
  events.forEach((event, i) => {
    const value = document.createElement('dd');
    value.append(text('pre', JSON.stringify(event, null, 1)));
    list.append(text('dt', `events[${i}]`), value);
  });
  return list;
}

function text(tag: string, content: string, className?: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}
