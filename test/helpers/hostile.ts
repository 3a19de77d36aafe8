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
