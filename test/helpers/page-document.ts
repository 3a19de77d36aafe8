/** A page's `document` as the 2.x browser batch processors use it: events, and whether the page is visible. */
export type PageDocument = EventTarget & { visibilityState: string };

/**
 * Gives each test of the suite a visible page `document` on `globalThis`, removed after it.
 * Returns a getter for the current test's document.
 */
export function usePageDocument(): () => PageDocument {
  let document: PageDocument;
  beforeEach(() => {
    document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    (globalThis as Record<string, unknown>)['document'] = document;
  });
  afterEach(() => {
    delete (globalThis as Record<string, unknown>)['document'];
  });
  return () => document;
}

/** Hides the page as a tab switch or a navigation does: the document becomes hidden. */
export function hidePage(document: PageDocument): void {
  document.visibilityState = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
}

/** The two ways the 2.x processors hear that the page goes, each as a test names it. */
export const PAGE_HIDES: Array<[when: string, hide: (document: PageDocument) => void]> = [
  ['the page is hidden', hidePage],
  ['pagehide is dispatched on document', (document) => document.dispatchEvent(new Event('pagehide'))],
];

/** Records the types of the listeners on `document` from now on, as the processors add and remove them. */
export function listening(document: PageDocument): () => string[] {
  const types: string[] = [];
  document.addEventListener = (type: string) => void types.push(type);
  document.removeEventListener = (type: string) => void types.splice(types.indexOf(type), 1);
  return () => [...types];
}
