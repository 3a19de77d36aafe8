/**
 * Runs `fn` with the page globals `globals` defined (a value, or a property descriptor with
 * `asDescriptors`), then puts back what was there.
 */
export function withPageGlobals<T>(globals: Record<string, unknown>, fn: () => T, asDescriptors = false): T {
  const saved = Object.fromEntries(Object.keys(globals).map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]));
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { ...(asDescriptors ? (value as PropertyDescriptor) : { value }), configurable: true });
  }
  try {
    return fn();
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else Reflect.deleteProperty(globalThis, name);
    }
  }
}
