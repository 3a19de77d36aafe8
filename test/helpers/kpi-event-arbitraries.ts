import fc from 'fast-check';
import type { CifKpiEventDetails } from '../../src/index.js';

/** Text that fits its column, or that is cut to it (100, or 2000 for additionalData). */
const text = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 95, maxLength: 2100 }));

/** The `details` of `recordKpiEvent` and `emitKpiEvent`: any field, custom columns valid or not. */
export const kpiEventDetails: fc.Arbitrary<CifKpiEventDetails | undefined> = fc.option(
  fc.record(
    {
      reason: text,
      additionalData: text,
      notificationResponseAction: text,
      externalCorrelationId: text,
      customData: fc.dictionary(fc.constantFrom('msdyn_customattribute1', 'msdyn_customattribute2', 'Not A Column', '__proto__', ''), fc.oneof(text, fc.integer(), fc.boolean())),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

/** Milliseconds, as both take a time: within Dataverse's dates, outside them, or no number at all. */
export const kpiEventTime = fc.option(fc.oneof(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.constantFrom(Number.NaN, -7_000_000_000_000, 1e15, Infinity)), { nil: undefined });

/** A CIF session whose required ids are absent, empty, or over their column. */
export const cifSession = fc.record({ conversationId: fc.string({ maxLength: 105 }), providerSessionId: fc.string({ maxLength: 105 }) }, { requiredKeys: [] });
