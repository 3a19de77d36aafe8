import type { CifAnalyticsClient } from '../types.js';
import { RecordingCifClient } from './recording-client.js';

/** What `installFakeCIFramework` installed, and how to take it away. */
export interface FakeCIFramework<C extends CifAnalyticsClient = RecordingCifClient> {
  /** The client that answers `Microsoft.CIFramework.logAnalyticsEvent`. */
  readonly client: C;
  /** Restores `Microsoft` and `Microsoft.CIFramework` on the target as they were. Safe to call twice. */
  uninstall(): void;
}

type Host = { Microsoft?: { CIFramework?: unknown } };

/**
 * Stands in for the CIF library outside Dynamics 365: defines
 * `Microsoft.CIFramework.logAnalyticsEvent` on `target` (keeping whatever else `Microsoft` and
 * `Microsoft.CIFramework` already hold), answered by `client`, then dispatches the `CIFInitDone`
 * event on `target` when it is an `EventTarget` (a window). `CifSpanExporter` with no `client`
 * option then calls it.
 * @default target: globalThis; client: a new RecordingCifClient
 * @example const { client, uninstall } = installFakeCIFramework();
 */
export function installFakeCIFramework(target?: object): FakeCIFramework;
export function installFakeCIFramework<C extends CifAnalyticsClient>(
  target: object | undefined,
  client: C,
): FakeCIFramework<C>;
export function installFakeCIFramework(
  target: object = globalThis,
  client: CifAnalyticsClient = new RecordingCifClient(),
): FakeCIFramework<CifAnalyticsClient> {
  const host = target as Host;
  const hadMicrosoft = hasOwn(host, 'Microsoft');
  const previousMicrosoft = host.Microsoft;
  if (previousMicrosoft !== undefined && (typeof previousMicrosoft !== 'object' || previousMicrosoft === null)) {
    throw new TypeError(`installFakeCIFramework: target.Microsoft must be an object (got ${String(previousMicrosoft)}).`);
  }
  const microsoft = previousMicrosoft ?? {};
  const hadCif = hasOwn(microsoft, 'CIFramework');
  const previousCif = microsoft.CIFramework;
  // Inherit from the CIFramework already there, so its other members stay reachable.
  const cif = Object.create(typeof previousCif === 'object' && previousCif !== null ? previousCif : Object.prototype) as CifAnalyticsClient;
  cif.logAnalyticsEvent = (data, eventName, correlationId) => client.logAnalyticsEvent(data, eventName, correlationId);
  microsoft.CIFramework = cif;
  if (previousMicrosoft === undefined) host.Microsoft = microsoft;

  const eventTarget = target as Partial<EventTarget>;
  if (typeof eventTarget.dispatchEvent === 'function' && typeof Event === 'function') {
    eventTarget.dispatchEvent(new Event('CIFInitDone'));
  }

  let installed = true;
  return {
    client,
    uninstall() {
      if (!installed) return;
      installed = false;
      if (hadCif) microsoft.CIFramework = previousCif;
      else delete microsoft.CIFramework;
      if (!hadMicrosoft) delete host.Microsoft;
    },
  };
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}
