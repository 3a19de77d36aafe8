/** How many watches collect unhandled rejections now: while one does, the root hooks leave them to it. */
export const watching = { count: 0 };

/** Collects the unhandled rejections of the test's lifetime; `stop()` takes the listener away and returns them. */
export function watchUnhandledRejections(): { stop(): Promise<unknown[]> } {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  watching.count++;
  return {
    async stop() {
      // Node reports an unhandled rejection after the microtasks of the turn it was made in.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', onUnhandled);
      watching.count--;
      return seen;
    },
  };
}

/** The unhandled rejections of the page while `run` runs and settles. */
export async function unhandledRejectionsOf(run: () => void | Promise<void>): Promise<unknown[]> {
  const watch = watchUnhandledRejections();
  try {
    await run();
  } catch (error) {
    await watch.stop();
    throw error;
  }
  return watch.stop();
}
