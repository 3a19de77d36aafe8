export { RecordingCifClient, formatCifCall } from './recording-client.js';
export type { RecordedCifCall, RecordingCifClientOptions } from './recording-client.js';
export { installFakeCIFramework } from './fake-cif-framework.js';
export type { FakeCIFramework, FakeCIFrameworkOptions, FakeCifSessionApis } from './fake-cif-framework.js';
