import type { CifAnalyticsClient, CifAnalyticsData } from '../../src/index.js';

export interface RecordedCall {
  data: CifAnalyticsData | string;
  eventName: string;
  correlationId: string | undefined;
}

/** A client that records every call and answers with `answer(call, index)`. */
export function recordingClient(
  answer: (call: RecordedCall, index: number) => Promise<string> = () => Promise.resolve('ok'),
): CifAnalyticsClient & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    logAnalyticsEvent(data, eventName, correlationId) {
      const call = { data, eventName, correlationId };
      calls.push(call);
      return answer(call, calls.length - 1);
    },
  };
}
