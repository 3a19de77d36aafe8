import { expect } from 'chai';
import { backoffMillis, type RetryPolicy } from '../../src/delivery/retry.js';

const POLICY: RetryPolicy = { maxAttempts: 10, initialBackoffMillis: 250, maxBackoffMillis: 5000 };

describe('backoffMillis', () => {
  const middle = () => 0.5;
  const cases: Array<[number, number]> = [
    [1, 250],
    [2, 500],
    [3, 1000],
    [4, 2000],
    [5, 4000],
    [6, 5000],
    [20, 5000],
  ];
  cases.forEach(([failedAttempts, expected]) =>
    it(`waits ${expected} ms after ${failedAttempts} failed attempts, before jitter`, () => {
      expect(backoffMillis(failedAttempts, POLICY, middle)).to.equal(expected);
    }),
  );

  const jitter: Array<[string, number, number]> = [
    ['lowest', 0, 400],
    ['highest', 0.999999, 600],
  ];
  jitter.forEach(([which, random, expected]) =>
    it(`spreads retries by ±20% (${which} draw after two failures: ${expected} ms)`, () => {
      expect(backoffMillis(2, POLICY, () => random)).to.equal(expected);
    }),
  );

  it('never waits longer than maxBackoffMillis, jitter included', () => {
    expect(backoffMillis(6, POLICY, () => 0.999999)).to.equal(5000);
    expect(backoffMillis(6, POLICY, () => 0)).to.equal(4000);
  });

  it('gives different waits to calls that failed together', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffMillis(3, POLICY)));
    expect(waits.size).to.be.greaterThan(10);
    for (const wait of waits) expect(wait).to.be.within(800, 1200);
  });

  const noNumbers: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['an object', {}],
  ];
  noNumbers.forEach(([what, drawn]) =>
    it(`waits without jitter when random gives ${what}`, () => {
      expect(backoffMillis(3, POLICY, () => drawn as number)).to.equal(1000);
    }),
  );

  it('waits nothing when initialBackoffMillis is 0', () => {
    expect(backoffMillis(3, { maxAttempts: 3, initialBackoffMillis: 0, maxBackoffMillis: 0 })).to.equal(0);
  });
});
