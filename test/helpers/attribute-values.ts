import fc from 'fast-check';

/**
 * Attribute values that throw when read or written, as a page may hand them over. Each is built
 * when called, inside a property: fast-check must not touch them.
 */
export const hostileValues: ReadonlyArray<() => unknown> = [
  () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    return revocable.proxy;
  },
  () => ({
    toJSON: () => {
      throw new Error('toJSON trap');
    },
  }),
  () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    return cyclic;
  },
];

/** Attribute values a page commonly sets: short and long text, numbers, booleans, absent, arrays. */
export const plainValues = [
  fc.string({ maxLength: 150 }),
  fc.string({ minLength: 1900, maxLength: 2100 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(undefined),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
] as const;
