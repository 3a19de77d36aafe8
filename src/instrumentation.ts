export { CifInstrumentation } from './instrumentation/cif-instrumentation.js';
export type { CifInstrumentationConfig } from './instrumentation/cif-instrumentation.js';
