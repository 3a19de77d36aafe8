import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { CifDelivery, CifSpanExporter, type CifDeliveryOptions, type CifSpanExporterOptions } from '../src/index.js';
import { CifLogRecordExporter } from '../src/logs.js';
import { deliveries, normalizeOptions } from '../src/options.js';
import { captureDiag } from './helpers/diag.js';
import { MemoryStore } from './helpers/web-storage.js';
import { defaultEventName } from '../src/mapping/kpi-events.js';
import { createReadiness, pageCifClient } from '../src/delivery/readiness.js';
import { defaultCorrelationId, defaultEventFilter } from '../src/mapping/spans.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { shutDownDeliveryAfterTest } from './helpers/shut-down-delivery.js';

describe('options', () => {
  it('fills in every default', () => {
    const options = normalizeOptions();
    expect(options).to.include({
      maxEventsPerCall: 1,
      dataFormat: 'object',
      eventFilter: defaultEventFilter,
      eventName: defaultEventName,
      correlationId: defaultCorrelationId,
    });
    expect(options.session).to.deep.equal({});
    expect(options.customAttributes).to.deep.equal([]);
    expect([options.client, options.ready, options.getClient]).to.deep.equal([undefined, undefined, pageCifClient]);
    expect(options).to.deep.include({
      readyTimeoutMillis: 20_000,
      timeoutMillis: 15_000,
      retry: { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5_000 },
      maxConcurrentCalls: 8,
      maxQueueSize: 12_800,
      outbox: { maxBytes: 2_097_152, maxAgeMillis: 604_800_000 },
    });
  });

  it('turns the outbox off with false, and keeps the store and name given', () => {
    const store = new MemoryStore();
    expect(normalizeOptions({ outbox: false }).outbox).to.deep.equal({ store: false });
    expect(normalizeOptions({ outbox: { store: false } }).outbox).to.deep.include({ store: false });
    expect(normalizeOptions({ outbox: { store, name: 'softphone', maxBytes: 10 } }).outbox).to.deep.equal({
      store,
      name: 'softphone',
      maxBytes: 10,
      maxAgeMillis: 604_800_000,
    });
  });

  it('needs no readiness wait with an explicit client and no ready promise', () => {
    const client = { logAnalyticsEvent: () => Promise.resolve('') };
    const readiness = createReadiness(normalizeOptions({ client }), () => {});
    expect(readiness.current()).to.equal('ready');
    readiness.dispose();
  });

  it('lets a ready promise decide readiness, with or without a client', async () => {
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    const client = { logAnalyticsEvent: () => Promise.resolve('') };
    const both = [normalizeOptions({ ready }), normalizeOptions({ ready, client })].map((options) => createReadiness(options, () => {}));
    expect(both.map((readiness) => readiness.current())).to.deep.equal(['waiting', 'waiting']);
    resolve();
    await new Promise((done) => setImmediate(done));
    expect(both.map((readiness) => readiness.current())).to.deep.equal(['ready', 'ready']);
    both.forEach((readiness) => readiness.dispose());
  });

  it('fills in the retry fields left out, raising maxBackoffMillis to a larger initialBackoffMillis', () => {
    expect(normalizeOptions({ retry: { maxAttempts: 5 } }).retry).to.deep.equal({
      maxAttempts: 5,
      initialBackoffMillis: 250,
      maxBackoffMillis: 5_000,
    });
    expect(normalizeOptions({ retry: { initialBackoffMillis: 8_000 } }).retry).to.deep.equal({
      maxAttempts: 3,
      initialBackoffMillis: 8_000,
      maxBackoffMillis: 8_000,
    });
  });

  it('reads retry.maxBackoffMillis once, so a getter that answers differently the second time is never asked again', () => {
    let reads = 0;
    const retry = {
      initialBackoffMillis: 8_000,
      get maxBackoffMillis(): number | undefined {
        if (reads++ > 0) throw new Error('page bug');
        return undefined;
      },
    };
    expect(normalizeOptions({ retry }).retry).to.deep.equal({ maxAttempts: 3, initialBackoffMillis: 8_000, maxBackoffMillis: 8_000 });
    expect(reads).to.equal(1);
  });

  it('takes null for a number option as its default', () => {
    const nulls = { readyTimeoutMillis: null, timeoutMillis: null, maxConcurrentCalls: null, maxQueueSize: null, maxEventsPerCall: null };
    const options = normalizeOptions({ ...nulls, retry: { maxAttempts: null, initialBackoffMillis: null, maxBackoffMillis: null }, outbox: { maxBytes: null, maxAgeMillis: null } } as never);
    expect(options).to.deep.include({
      readyTimeoutMillis: 20_000,
      timeoutMillis: 15_000,
      maxConcurrentCalls: 8,
      maxQueueSize: 12_800,
      maxEventsPerCall: 1,
      retry: { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5_000 },
      outbox: { maxBytes: 2_097_152, maxAgeMillis: 604_800_000 },
    });
  });

  it('looks the default client up on the page at call time, not at construction', () => {
    const options = normalizeOptions();
    expect(options.getClient()).to.equal(undefined);
    const cif = { logAnalyticsEvent: () => Promise.resolve('') };
    (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: cif };
    try {
      expect(options.getClient()).to.equal(cif);
    } finally {
      delete (globalThis as Record<string, unknown>)['Microsoft'];
    }
  });

  const bad: Array<[string, CifSpanExporterOptions, RegExp]> = [
    ['a client without logAnalyticsEvent', { client: {} as never }, /`client` must have a logAnalyticsEvent/],
    ['maxEventsPerCall of 0', { maxEventsPerCall: 0 }, /^CifSpanExporter: option `maxEventsPerCall` must be a whole number of at least 1 \(got 0\)\.$/],
    ['options that are not an object', 42 as never, /^CifSpanExporter: options must be a plain object \(got 42\)\.$/],
    ['null options', null as never, /^CifSpanExporter: options must be a plain object \(got null\)\.$/],
    ['a null client', { client: null as never }, /`client` must have a logAnalyticsEvent method \(got null\)/],
    ['a null ready', { ready: null as never }, /`ready` must be a Promise \(got null\)/],
    ['a null dataFormat', { dataFormat: null as never }, /`dataFormat` must be 'object' or 'json' \(got null\)/],
    ['a null eventName', { eventName: null as never }, /`eventName` must be a function \(got null\)/],
    ['a null eventFilter', { eventFilter: null as never }, /`eventFilter` must be a function \(got null\)/],
    ['a null outbox name', { outbox: { name: null as never } }, /`outbox.name` must be a string \(got null\)/],
    ['a null retry', { retry: null as never }, /`retry` must be a plain object \(got null\)/],
    ['a negative retry.maxBackoffMillis', { retry: { maxBackoffMillis: -1 } }, /`retry.maxBackoffMillis` must be a whole number of milliseconds from 0 to 2147483647 \(got -1\)/],
    ['a null session', { session: null as never }, /`session` must be a plain object \(got null\)/],
    ['customAttributes that are not an object', { customAttributes: 'call.queue' as never }, /`customAttributes` must be a plain object \(got 'call.queue'\)/],
    ['null customAttributes', { customAttributes: null as never }, /`customAttributes` must be a plain object \(got null\)/],
    ['a custom column given as an array', { customAttributes: { 'call.queue': ['msdyn_customattribute1'] as never } }, /`customAttributes\['call.queue'\]` must be the logical name of a custom column/],
    ['a long text value, shown cut to 120 characters', { dataFormat: 'x'.repeat(200) as never }, /\(got 'x{120}'\)\.$/],
    ['an array, shown with its brackets so that an empty one shows', { dataFormat: [] as never }, /`dataFormat` must be 'object' or 'json' \(got \[\]\)\.$/],
    ['an array of values, shown with its brackets', { maxQueueSize: [1, 2] as never }, /`maxQueueSize` must be a whole number of at least 1 \(got \[1,2\]\)\.$/],
    ['a value that cannot be printed, shown by its type', { dataFormat: Object.create(null) as never }, /`dataFormat` must be 'object' or 'json' \(got object\)\.$/],
    ['a fractional maxEventsPerCall', { maxEventsPerCall: 1.5 }, /`maxEventsPerCall`/],
    ['an unknown dataFormat', { dataFormat: 'xml' as never }, /`dataFormat` must be 'object' or 'json' \(got 'xml'\)/],
    ['a session id longer than its column', { session: { conversationId: 'c'.repeat(101) } }, /`session.conversationId` must be a string of at most 100 characters \(got 'c{101}'\)/],
    ['a session id that is not a string', { session: { participantId: 7 as never } }, /`session.participantId` must be a string of at most 100 characters \(got 7\)/],
    ['a session id whose getter throws', { session: { get participantId(): string { throw new Error('getter bug'); } } }, /`session.participantId` cannot be read \(got Error: getter bug\)/],
    ['a custom column that is not a column name', { customAttributes: { 'call.queue': '__proto__' } }, /`customAttributes\['call.queue'\]` must be the logical name of a custom column/],
    [
      'a custom column the payload fills',
      { customAttributes: { 'call.queue': 'msdyn_conversationid' } },
      /`customAttributes\['call.queue'\]` must be the logical name of a custom column: msdyn_customattribute1 to 5, or one you added \(got 'msdyn_conversationid'\)/,
    ],
    ['a custom mapping from a cif. attribute', { customAttributes: { 'cif.kpi.reason': 'msdyn_customattribute1' } }, /`customAttributes\['cif.kpi.reason'\]` must not map a cif\. attribute \(got 'cif\.kpi\.reason'\)/],
    ['an eventFilter that is not a function', { eventFilter: 'all' as never }, /`eventFilter` must be a function/],
    ['an eventName that is not a function', { eventName: 1 as never }, /`eventName` must be a function/],
    ['a correlationId that is not a function', { correlationId: 'abc' as never }, /`correlationId` must be a function/],
    ['a ready that is not a promise', { ready: true as never }, /`ready` must be a Promise \(got true\)/],
    ['a negative readyTimeoutMillis', { readyTimeoutMillis: -1 }, /`readyTimeoutMillis` must be a whole number of milliseconds from 0 to 2147483647 \(got -1\)/],
    ['a timeoutMillis of 0', { timeoutMillis: 0 }, /`timeoutMillis` must be a whole number of milliseconds from 1/],
    ['a timeoutMillis setTimeout cannot wait', { timeoutMillis: 2 ** 31 }, /`timeoutMillis` must be a whole number of milliseconds from 1 to 2147483647/],
    ['an infinite readyTimeoutMillis', { readyTimeoutMillis: Infinity }, /`readyTimeoutMillis`/],
    ['a retry that is not an object', { retry: 3 as never }, /`retry` must be a plain object/],
    ['retry.maxAttempts of 0', { retry: { maxAttempts: 0 } }, /`retry.maxAttempts` must be a whole number of at least 1/],
    ['a fractional retry.initialBackoffMillis', { retry: { initialBackoffMillis: 0.5 } }, /`retry.initialBackoffMillis`/],
    ['retry.maxBackoffMillis below initialBackoffMillis', { retry: { initialBackoffMillis: 500, maxBackoffMillis: 100 } }, /`retry.maxBackoffMillis` must be at least initialBackoffMillis \(500\) \(got 100\)/],
    ['maxConcurrentCalls of 0', { maxConcurrentCalls: 0 }, /`maxConcurrentCalls` must be a whole number of at least 1/],
    ['an outbox that is neither false nor an object, saying false is taken too', { outbox: true as never }, /^CifSpanExporter: option `outbox` must be false or an object \(got true\)\.$/],
    ['a null outbox', { outbox: null as never }, /^CifSpanExporter: option `outbox` must be false or an object \(got null\)\.$/],
    ['an outbox store that is not Web Storage', { outbox: { store: {} as never } }, /`outbox.store` must be false or a Storage such as localStorage \(got \[object Object\]\)/],
    ['a null outbox store', { outbox: { store: null as never } }, /`outbox.store` must be false or a Storage such as localStorage \(got null\)/],
    ['an outbox name that is not a string', { outbox: { name: 5 as never } }, /`outbox.name` must be a string \(got 5\)/],
    ['outbox.maxBytes of 0', { outbox: { maxBytes: 0 } }, /`outbox.maxBytes` must be a whole number of at least 1 \(got 0\)/],
    ['a fractional outbox.maxAgeMillis', { outbox: { maxAgeMillis: 1.5 } }, /`outbox.maxAgeMillis` must be a whole number of at least 1/],
    ['maxQueueSize that is not a number', { maxQueueSize: '10' as never }, /`maxQueueSize` must be a whole number of at least 1 \(got '10'\)/],
  ];
  bad.forEach(([what, options, message]) =>
    it(`rejects ${what} in the constructor with a message that says what to change`, () => {
      expect(() => new CifSpanExporter(options)).to.throw(TypeError, message);
    }),
  );

  // A page's proxy or getter may throw anything; the constructor still says which option it could not read.
  const getterThrows = new Proxy({}, { get: () => { throw new Error('page bug'); } });
  const keysThrow = new Proxy({}, { ownKeys: () => { throw new Error('page bug'); } });
  const unreadable: Array<[string, () => unknown, string]> = [
    ['exporter options whose getters throw', () => new CifSpanExporter(getterThrows), 'CifSpanExporter: option `delivery` cannot be read (got Error: page bug).'],
    ['exporter options whose keys cannot be listed', () => new CifSpanExporter(keysThrow), 'CifSpanExporter: options cannot be read (got Error: page bug).'],
    ['a retry whose getters throw', () => new CifSpanExporter({ retry: getterThrows }), 'CifSpanExporter: option `retry.maxAttempts` cannot be read (got Error: page bug).'],
    ['an outbox whose keys cannot be listed', () => new CifSpanExporter({ outbox: keysThrow }), 'CifSpanExporter: option `outbox` cannot be read (got Error: page bug).'],
    ['a client whose getters throw', () => new CifSpanExporter({ client: getterThrows as never }), 'CifSpanExporter: option `client` cannot be read (got Error: page bug).'],
    ['a ready promise whose getters throw', () => new CifSpanExporter({ ready: getterThrows as never }), 'CifSpanExporter: option `ready` cannot be read (got Error: page bug).'],
    ['customAttributes whose keys cannot be listed', () => new CifSpanExporter({ customAttributes: keysThrow }), 'CifSpanExporter: option `customAttributes` cannot be read (got Error: page bug).'],
    ['CifDelivery options whose getters throw', () => new CifDelivery(getterThrows), 'CifDelivery: option `client` cannot be read (got Error: page bug).'],
    ['CifLogRecordExporter options whose getters throw', () => new CifLogRecordExporter(getterThrows), 'CifLogRecordExporter: option `delivery` cannot be read (got Error: page bug).'],
  ];
  unreadable.forEach(([what, construct, message]) =>
    it(`rejects ${what} with a TypeError naming the option it could not read`, () => {
      expect(construct).to.throw(TypeError, message);
    }),
  );

  const arrays: Array<[string, () => unknown, string]> = [
    ['exporter options', () => new CifSpanExporter([] as never), 'CifSpanExporter: options must be a plain object'],
    ['CifDelivery options', () => new CifDelivery([] as never), 'CifDelivery: options must be a plain object'],
    ['retry', () => new CifSpanExporter({ retry: [] as never }), 'CifSpanExporter: option `retry` must be a plain object'],
    ['outbox', () => new CifSpanExporter({ outbox: [] as never }), 'CifSpanExporter: option `outbox` must be false or an object'],
    ['session', () => new CifSpanExporter({ session: [] as never }), 'CifSpanExporter: option `session` must be a plain object'],
    ['customAttributes', () => new CifSpanExporter({ customAttributes: [] as never }), 'CifSpanExporter: option `customAttributes` must be a plain object'],
  ];
  arrays.forEach(([what, construct, message]) =>
    it(`rejects an array given as ${what}, rather than taking every default in silence`, () => {
      expect(construct).to.throw(TypeError, message);
    }),
  );

  const misspelt: Array<[string, CifSpanExporterOptions, string]> = [
    ['sesion', { sesion: {} } as CifSpanExporterOptions, 'CifSpanExporter: option `sesion` is unknown and ignored.'],
    ['timeoutMilis', { timeoutMilis: 1 } as CifSpanExporterOptions, 'CifSpanExporter: option `timeoutMilis` is unknown and ignored.'],
    ['MaxQueueSize', { MaxQueueSize: 1 } as CifSpanExporterOptions, 'CifSpanExporter: option `MaxQueueSize` is unknown and ignored.'],
    ['retry.maxAttempt', { retry: { maxAttempt: 1 } } as CifSpanExporterOptions, 'CifSpanExporter: option `retry.maxAttempt` is unknown and ignored.'],
    ['outbox.maxByte', { outbox: { maxByte: 1 } } as CifSpanExporterOptions, 'CifSpanExporter: option `outbox.maxByte` is unknown and ignored.'],
    ['retry.maxMillis', { retry: { maxMillis: 1 } } as CifSpanExporterOptions, 'CifSpanExporter: option `retry.maxMillis` is unknown and ignored.'],
  ];
  misspelt.forEach(([what, options, message]) =>
    it(`warns at construction that the unknown option ${what} is ignored, naming it and the object it was given to`, () => {
      const messages = captureDiag();
      try {
        shutDownAfterTest(new CifSpanExporter({ client: { logAnalyticsEvent: () => Promise.resolve('') }, ...options }));
        expect(messages).to.deep.equal([`opentelemetry-exporter-cif ${message}`]);
      } finally {
        diag.disable();
      }
    }),
  );

  it('tells a CifDelivery given an exporter option that it belongs to the exporters, and still rejects its bad options', () => {
    const messages = captureDiag();
    try {
      const client = { logAnalyticsEvent: () => Promise.resolve('') };
      shutDownDeliveryAfterTest(new CifDelivery({ client, session: { conversationId: 'c' }, maxQueueSzie: 5 } as CifDeliveryOptions));
      expect(messages).to.deep.equal([
        'opentelemetry-exporter-cif CifDelivery: option `session` is an option of the exporters and ignored.',
        'opentelemetry-exporter-cif CifDelivery: option `maxQueueSzie` is unknown and ignored.',
      ]);
      expect(() => new CifDelivery({ maxQueueSize: 0 })).to.throw(TypeError, /^CifDelivery: option `maxQueueSize` must be a whole number of at least 1 \(got 0\)\.$/);
      expect(() => new CifDelivery(42 as never)).to.throw(TypeError, /^CifDelivery: options must be a plain object \(got 42\)\.$/);
    } finally {
      diag.disable();
    }
  });

  it('tells a CifDelivery given any exporter option that it belongs to the exporters', () => {
    const client = { logAnalyticsEvent: () => Promise.resolve('') };
    const messages = captureDiag();
    try {
      const own = { delivery: shutDownDeliveryAfterTest(new CifDelivery({ client })), session: {}, customAttributes: {}, maxEventsPerCall: 3, eventName: () => 'x', eventFilter: () => true, correlationId: () => 'x' };
      shutDownDeliveryAfterTest(new CifDelivery({ client, ...own } as CifDeliveryOptions));
      expect(messages).to.deep.equal(
        Object.keys(own).map((name) => `opentelemetry-exporter-cif CifDelivery: option \`${name}\` is an option of the exporters and ignored.`),
      );
    } finally {
      diag.disable();
    }
  });

  it('takes every exporter option beside a shared delivery without a warning', () => {
    const messages = captureDiag();
    try {
      const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client: { logAnalyticsEvent: () => Promise.resolve('') } }));
      const options = normalizeOptions({ delivery, session: {}, customAttributes: {}, maxEventsPerCall: 3, eventName: () => 'x', eventFilter: () => true, correlationId: () => 'x' });
      expect(options.delivery).to.equal(deliveries.get(delivery)).and.to.have.property('engine');
      expect(options.maxEventsPerCall).to.equal(3);
      expect(messages).to.deep.equal([]);
    } finally {
      diag.disable();
    }
  });

  it('rejects a delivery option given beside a shared delivery, naming where it belongs', () => {
    const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client: { logAnalyticsEvent: () => Promise.resolve('') } }));
    expect(() => new CifSpanExporter({ delivery, maxQueueSize: 5 })).to.throw(
      TypeError,
      'CifSpanExporter: option `maxQueueSize` belongs to the CifDelivery passed as `delivery` (got 5).',
    );
  });

  it('blames a delivery that is no CifDelivery, not a delivery option given beside it', () => {
    expect(() => new CifSpanExporter({ delivery: null as never, maxQueueSize: 3 })).to.throw(
      TypeError,
      'CifSpanExporter: option `delivery` must be a CifDelivery (got null).',
    );
    expect(() => new CifLogRecordExporter({ delivery: {} as never, client: { logAnalyticsEvent: () => Promise.resolve('') } })).to.throw(
      TypeError,
      'CifLogRecordExporter: option `delivery` must be a CifDelivery (got [object Object]).',
    );
  });

  it('sends through the delivery a getter of `delivery` answers first, by which it checked the delivery options beside it', () => {
    const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client: { logAnalyticsEvent: () => Promise.resolve('') } }));
    let reads = 0;
    const shared = normalizeOptions({
      get delivery() {
        return reads++ === 0 ? delivery : undefined;
      },
    });
    expect(shared.delivery).to.equal(deliveries.get(delivery));
    reads = 0;
    const own = normalizeOptions({
      get delivery() {
        return reads++ === 0 ? undefined : delivery;
      },
      maxQueueSize: 5,
    });
    expect(own.delivery).to.equal(undefined);
    expect(own.maxQueueSize).to.equal(5);
  });

  it('warns about no option it knows', () => {
    const messages = captureDiag();
    try {
      const client = { logAnalyticsEvent: () => Promise.resolve('') };
      shutDownAfterTest(new CifSpanExporter({ client, ready: Promise.resolve(), readyTimeoutMillis: 1, timeoutMillis: 1, retry: { maxAttempts: 1, initialBackoffMillis: 1, maxBackoffMillis: 1 }, maxConcurrentCalls: 1, maxQueueSize: 1, session: {}, customAttributes: {}, eventName: (e) => e.kpiEventName, maxEventsPerCall: 1, dataFormat: 'json', eventFilter: () => true, correlationId: () => 'x', outbox: { store: false, name: 'x', maxBytes: 1, maxAgeMillis: 1 } }));
      expect(messages).to.deep.equal([]);
    } finally {
      diag.disable();
    }
  });

  it('accepts the smallest and largest value of every bounded option, and keeps each as given', () => {
    const extremes = {
      maxEventsPerCall: 1,
      readyTimeoutMillis: 0,
      timeoutMillis: 1,
      maxConcurrentCalls: 1,
      maxQueueSize: 1,
      retry: { maxAttempts: 1, initialBackoffMillis: 0, maxBackoffMillis: 2_147_483_647 },
      session: { conversationId: 'c'.repeat(100) },
    };
    expect(normalizeOptions(extremes)).to.deep.include(extremes);
    expect(normalizeOptions({ readyTimeoutMillis: 2_147_483_647 }).readyTimeoutMillis).to.equal(2_147_483_647);
  });
});
