/**
 * The engine, the client half: one explicit instance per database (no global state). It opens the
 * backend, migrates the schema (refusing a schema newer than this code), starts executions, hands out
 * handles to wait for their results, and creates workers. Reads and operator actions are `engine.admin`
 * (engine-admin.ts). On the embedded backend it also runs the maintenance PGlite lacks (VACUUM, CHECKPOINT).
 */
import { AriesMetrics } from '../core/aries-metrics.js';
import { canonicalJson, DEFAULT_MAX_PAYLOAD_BYTES } from '../core/json-value.js';
import { checkCodec, decodePayload, encodePayload, type PayloadCodec } from '../core/payload-codec.js';
import { checkStoredErrorPolicy, type StoredError, type StoredErrorPolicy } from '../core/stored-error.js';
import type { Database, Queryable } from '../db/database.js';
import { durabilityWarnings } from '../db/durability-check.js';
import { checkSchema, migrate, type MigrationResult } from '../db/migrate.js';
import { openDatabase, type ConnectionOptions } from '../db/open-database.js';
import { RemoteDatabase } from '../db/remote-database.js';
import { isUuid, startExecution, startExecutions, type StartPlacement } from '../db/executions.js';
import { registerQueue } from '../db/queues.js';
import { databaseNow, upsertSchedule } from '../db/schedules.js';
import { sendSignal, signalWithStart } from '../db/waits.js';
import { nextSlotAfter } from '../core/schedule-slots.js';
import { AriesError, EngineClosedError, ExecutionNotFoundError, IdempotencyConflictError, InvalidDefinitionError, InvalidInputError } from '../errors.js';
import { startEmbeddedMaintenance } from '../worker/embedded-maintenance.js';
import { registerDefinition } from '../worker/register-definition.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { checkQueueName } from './define-queue.js';
import { isWorkflow, type Workflow } from './define-workflow.js';
import { isQueue, type Queue } from './types/queue.js';
import { EngineAdmin } from './engine-admin.js';
import { ExecutionHandle } from './execution-handle.js';
import { checkSchedule, type ScheduleOptions } from './schedule-options.js';

export interface EngineOptions extends ConnectionOptions {
  /** Apply pending migrations on open (default true). When false, a schema that is behind is an error. */
  migrate?: boolean;
  /** Largest input, step output or result accepted, as JSON bytes (default 8 MiB). */
  maxPayloadBytes?: number;
  /** Embedded only: how often VACUUM runs, since PGlite has no autovacuum (default 5 min; 0 = never). */
  vacuumIntervalMs?: number;
  /** Where background errors go (default: console.warn). */
  onError?: (err: unknown, context: string) => void;
  /**
   * Applied by this engine's workers to every error before it is stored (failures, journal records,
   * executions.error, steps.error): return the form to store, e.g. with passwords masked. Its failure
   * classification is kept as the engine made it.
   */
  redactError?: (stored: StoredError) => StoredError;
  /** false: this engine's workers store no stack traces. Default true, with paths relative to the working directory. */
  storeStacks?: boolean;
  /**
   * Encodes every payload this engine and its workers write (inputs, outputs, step outputs, signal payloads,
   * errors' messages, stacks and details) and decodes every one read, e.g. aesGcmCodec({ keys, current }).
   */
  codec?: PayloadCodec;
}

/** A signal's name, payload (encoded by the codec) and idempotency key, checked: nothing is stored for a bad one. */
async function checkSignal(
  name: unknown,
  payload: unknown,
  idempotencyKey: unknown,
  maxPayloadBytes: number,
  codec: PayloadCodec | undefined,
  executionId: string | null,
): Promise<{ name: string; payloadJson: string | null; idempotencyKey: string | null }> {
  if (typeof name !== 'string' || name === '') throw new InvalidInputError(`a signal needs a non-empty string name, got ${JSON.stringify(name) ?? String(name)}`);
  if (Buffer.byteLength(name, 'utf8') > 256) throw new InvalidInputError('a signal name is at most 256 bytes');
  const key = checkIdempotencyKey(idempotencyKey, "a signal's idempotencyKey");
  const payloadJson = await encodePayload(payload, `payload of signal "${name}"`, maxPayloadBytes, codec, { kind: 'signalPayload', executionId });
  return { name, payloadJson, idempotencyKey: key ?? null };
}

/** An idempotency key (of a start or a signal): absent, or a non-empty string that fits the unique index. */
function checkIdempotencyKey(key: unknown, what: string): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key === '') throw new InvalidInputError(`${what} must be a non-empty string`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_IDEMPOTENCY_KEY_BYTES) throw new InvalidInputError(`${what} is ${bytes} bytes; the limit is ${MAX_IDEMPOTENCY_KEY_BYTES}`);
  return key;
}

/** Two inputs as a start under one idempotency key compares them: by JSON value (undefined is null). */
function sameInput(a: unknown, b: unknown): boolean {
  return canonicalJson(a === undefined ? null : a) === canonicalJson(b === undefined ? null : b);
}

function isDelay(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;
}

/** Longer keys would not fit the unique index that makes them idempotent (and no caller needs one). */
export const MAX_IDEMPOTENCY_KEY_BYTES = 512;

export interface StartOptions {
  /** The same key returns the execution it first started, never a second one. */
  idempotencyKey?: string;
  /** When starting by name: the version (default: the most recently registered one). */
  version?: string;
  /** The whole execution's deadline from now (overrides the workflow's timeoutMs); see WorkflowOptions.timeoutMs. */
  timeoutMs?: number;
  /** The queue to start in, instead of the workflow's (a defineQueue() value is registered first). */
  queue?: Queue | string;
  /** Its key within the queue (keyConcurrency counts per key; fairness round-robins across keys). Non-empty. */
  queueKey?: string;
  /** Its priority within the queue: an integer, higher first (default 0). Needs a queue. */
  priority?: number;
  /** Due this many milliseconds from now (database clock), queued or not (default 0). */
  delayMs?: number;
  /**
   * Runs once, delayMs after the last start with this key (per workflow), with the last start's input,
   * and never later than maxDelayMs after the first (default: no bound). Not with idempotencyKey.
   */
  debounce?: { key: string; delayMs: number; maxDelayMs?: number };
}

export interface StartManyOptions extends Omit<StartOptions, 'idempotencyKey' | 'debounce'> {
  /** One idempotency key (or null: none) per input, in the same order. */
  idempotencyKeys?: readonly (string | null)[];
  /** Not for a batch: use idempotencyKeys. */
  idempotencyKey?: never;
  /** Not for a batch. */
  debounce?: never;
}

export interface SignalOptions {
  /** The same key again stores nothing and returns the first signal (duplicate: true). */
  idempotencyKey?: string;
}

export interface SignalWithStartOptions extends StartOptions {
  /** Names the execution: required, it is how a second call finds the one the first started. */
  idempotencyKey: string;
  signal: { name: string; payload?: unknown; idempotencyKey?: string };
}

/** A signal put in an execution's mailbox. */
export interface SentSignal {
  signalId: string;
  /** The idempotency key had been used: nothing new was stored. */
  duplicate: boolean;
}

export class Engine {
  readonly db: Database;
  /**
   * This engine's metrics (engine.admin.renderMetrics() renders them): what this process's engine and workers
   * did. Register your own in metrics.registry and they are rendered with them.
   */
  readonly metrics = new AriesMetrics();
  /** Every read of executions and every operator action: cancel, retry, recover, the recovery sweep, metrics. */
  readonly admin: EngineAdmin;
  private readonly closeDb: () => Promise<void>;
  private readonly maxPayloadBytes: number;
  private readonly storedErrors: StoredErrorPolicy;
  private readonly codec: PayloadCodec | undefined;
  private readonly onError: (err: unknown, context: string) => void;
  private readonly workers = new Set<Worker>();
  private readonly registered = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private stopMaintenance: (() => void) | undefined;
  private closed = false;

  private constructor(db: Database, closeDb: () => Promise<void>, options: EngineOptions) {
    this.db = db;
    this.closeDb = closeDb;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.storedErrors = checkStoredErrorPolicy(options);
    this.codec = checkCodec(options.codec);
    this.onError = options.onError ?? ((err, context) => console.warn(`aries: ${context}:`, err));
    this.admin = new EngineAdmin({
      db,
      metrics: this.metrics,
      assertOpen: () => this.assertOpen(),
      pokeWorkers: () => this.pokeWorkers(),
      notifySettled: (id) => this.notifySettled(id),
      onError: this.onError,
      codec: this.codec,
    });
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const opened = await openDatabase(options);
    try {
      const engine = new Engine(opened.db, opened.close, options);
      if (options.migrate === false) {
        const { pending } = await checkSchema(opened.db);
        if (pending > 0) throw new InvalidInputError(`the database schema is ${pending} migration(s) behind; run "aries migrate"`);
      } else {
        await engine.migrate();
      }
      if (opened.db.kind === 'postgres') {
        const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'ARIES_DURABILITY' }));
        for (const message of await durabilityWarnings(opened.db)) warn(`aries: ${message}`);
      }
      if (opened.db.kind === 'pglite') {
        engine.stopMaintenance = startEmbeddedMaintenance(opened.db, options.vacuumIntervalMs ?? 300_000, engine.onError);
      }
      return engine;
    } catch (err) {
      await opened.close().catch(() => {});
      throw err;
    }
  }

  get backend(): Database['kind'] {
    return this.db.kind;
  }

  async migrate(onProgress?: Parameters<typeof migrate>[1]): Promise<MigrationResult> {
    this.assertOpen();
    if (this.db instanceof RemoteDatabase) return this.db.migrate();
    return migrate(this.db, onProgress);
  }

  /** Starts an execution of a workflow (by definition, or by name as registered by a worker). */
  async start<Input, Output>(
    workflow: Workflow<Input, Output> | string,
    input: Input,
    options: StartOptions = {},
  ): Promise<ExecutionHandle<Output>> {
    const { input: given, ...start } = await this.prepareStart(workflow, input, options);
    // Encoded twice, the same input is two ciphertexts: the database cannot compare them, so with a codec
    // the input of an execution started earlier under the key is decoded and compared here.
    const started = await startExecution(this.db, { ...start, inputMustMatch: this.codec === undefined });
    if (this.codec !== undefined && !started.created && !started.debounced) await this.checkSameInput(started.executionId, start.idempotencyKey, given);
    if (started.created) this.metrics.executionsStarted.labels(start.workflow).inc();
    this.pokeWorkers();
    return this.handle<Output>(started.executionId, started.created, started.debounced);
  }

  /**
   * Starts many executions of one workflow in one database call: one handle per input, in order. With
   * `options.idempotencyKeys` (one key or null per input) each item keeps its own key's semantics, as
   * engine.start does: a key already used answers with its execution (created false); the same key with a
   * different input is IDEMPOTENCY_CONFLICT, also between two items of the batch. The other options are the
   * batch's. All or nothing: a bad item refuses the batch, naming it, and nothing is started.
   */
  async startMany<Input, Output>(
    workflow: Workflow<Input, Output> | string,
    inputs: readonly Input[],
    options: StartManyOptions = {},
  ): Promise<ExecutionHandle<Output>[]> {
    if (!Array.isArray(inputs)) throw new InvalidInputError('engine.startMany needs its inputs as an array');
    const { idempotencyKeys, ...shared } = options;
    if (shared.idempotencyKey !== undefined) {
      throw new InvalidInputError('engine.startMany takes idempotencyKeys (one per input), not idempotencyKey');
    }
    if (shared.debounce !== undefined) throw new InvalidInputError('engine.startMany cannot debounce: start debounced executions one by one');
    if (idempotencyKeys !== undefined && (!Array.isArray(idempotencyKeys) || idempotencyKeys.length !== inputs.length)) {
      throw new InvalidInputError(`engine.startMany needs one idempotency key (or null) per input: ${inputs.length} input(s)`);
    }
    if (inputs.length === 0) return [];
    const batch = await this.prepareStart(workflow as Workflow<unknown, Output> | string, null, shared);
    const inputsJson: (string | null)[] = [];
    const keys: (string | null)[] = [];
    const firstWithKey = new Map<string, number>();
    for (let i = 0; i < inputs.length; i++) {
      try {
        const input = inputs[i] === undefined ? null : inputs[i];
        inputsJson.push(await encodePayload(input, 'input', this.maxPayloadBytes, this.codec, { kind: 'input', executionId: null }));
        const given = idempotencyKeys?.[i];
        const key = given === null || given === undefined ? null : (checkIdempotencyKey(given, 'idempotencyKey') ?? null);
        keys.push(key);
        // A key twice in the batch must carry one input (compared here: with a codec the database sees two ciphertexts).
        const first = key === null ? undefined : firstWithKey.get(key);
        if (key !== null && first === undefined) firstWithKey.set(key, i);
        if (first !== undefined && !sameInput(inputs[first], input)) {
          throw new IdempotencyConflictError(`idempotency key "${key}" is given to item ${first + 1} too, with a different input`);
        }
      } catch (err) {
        if (err instanceof AriesError) err.message = `item ${i + 1} of the batch: ${err.message}`;
        throw err;
      }
    }
    const startAll = async (db: Queryable) => {
      const rows = await startExecutions(db, {
        ...batch,
        inputsJson,
        idempotencyKeys: idempotencyKeys === undefined ? null : keys,
        inputMustMatch: this.codec === undefined,
      });
      if (this.codec !== undefined) await this.checkSameInputs(db, rows, keys, inputs);
      return rows;
    };
    // With a codec the inputs under known keys are compared after the insert, so in its transaction: a
    // conflict takes the whole batch back.
    const started = this.codec === undefined || idempotencyKeys === undefined ? await startAll(this.db) : await this.db.transaction(startAll);
    const created = started.filter((s) => s.created).length;
    if (created > 0) this.metrics.executionsStarted.labels(batch.workflow).inc(created);
    this.pokeWorkers();
    return started.map((s) => this.handle<Output>(s.executionId, s.created));
  }

  /**
   * Puts a signal named `name` with `payload` in the mailbox of execution `executionId`; a wait for that
   * name (ctx.waitForSignal) takes it, now or later. ExecutionNotFoundError for an unknown execution,
   * IllegalTransitionError for a finished one.
   */
  async signal(executionId: string, name: string, payload?: unknown, options: SignalOptions = {}): Promise<SentSignal> {
    this.assertOpen();
    if (typeof executionId !== 'string' || !isUuid(executionId)) {
      await checkSignal(name, payload, options.idempotencyKey, this.maxPayloadBytes, undefined, null); // a bad signal is named first
      throw new ExecutionNotFoundError(`execution ${String(executionId)} not found: it is not an execution id (a UUID)`);
    }
    const signal = await checkSignal(name, payload, options.idempotencyKey, this.maxPayloadBytes, this.codec, executionId);
    const sent = await sendSignal(this.db, { executionId, ...signal });
    if (!sent.duplicate) this.metrics.signalsSent.inc();
    this.pokeWorkers();
    return sent;
  }

  /**
   * Starts the execution named by `options.idempotencyKey` if it is new, and delivers the signal to it,
   * in one transaction (a signal never reaches an execution that does not exist, nor is one started without it).
   */
  async signalWithStart<Input, Output>(
    workflow: Workflow<Input, Output> | string,
    input: Input,
    options: SignalWithStartOptions,
  ): Promise<{ handle: ExecutionHandle<Output>; created: boolean } & SentSignal> {
    if (typeof options !== 'object' || options === null || typeof options.idempotencyKey !== 'string') {
      throw new InvalidInputError('engine.signalWithStart needs options.idempotencyKey: it names the execution');
    }
    const start = await this.prepareStart(workflow, input, options);
    const s = options.signal as SignalWithStartOptions['signal'] | undefined;
    if (typeof s !== 'object' || s === null) throw new InvalidInputError('engine.signalWithStart needs options.signal: { name, payload? }');
    const signal = await checkSignal(s.name, s.payload, s.idempotencyKey, this.maxPayloadBytes, this.codec, null);
    if (start.debounce) throw new InvalidInputError('engine.signalWithStart cannot debounce: its idempotencyKey names the execution');
    const { input: _input, ...stored } = start;
    const done = await signalWithStart(this.db, { ...stored, idempotencyKey: options.idempotencyKey, signal });
    if (done.created) this.metrics.executionsStarted.labels(start.workflow).inc();
    if (!done.duplicate) this.metrics.signalsSent.inc();
    this.pokeWorkers();
    return { handle: this.handle<Output>(done.executionId, done.created), created: done.created, signalId: done.signalId, duplicate: done.duplicate };
  }

  /**
   * Creates the schedule `name`, or changes it (an upsert): at every slot of `options.cron` (in
   * `options.timezone`) a worker starts one execution of `options.workflow` with `options.input`, exactly
   * once per slot whatever the number of workers. A changed cron or timezone computes the next slot from
   * now; the same one keeps it. Refused before anything is stored: an invalid cron, an unknown timezone,
   * a bad misfire or maxLatenessMs, input that is not JSON (InvalidInputError), an unknown workflow name
   * (UnknownWorkflowError).
   */
  async schedule<Input>(name: string, options: ScheduleOptions<Input>): Promise<{ created: boolean; nextFireAt: Date }> {
    this.assertOpen();
    const s = checkSchedule(name, options, this.maxPayloadBytes);
    if (this.codec !== undefined && s.inputJson !== null) {
      s.inputJson = await encodePayload(JSON.parse(s.inputJson), `input of schedule "${s.name}"`, this.maxPayloadBytes, this.codec, {
        kind: 'input',
        executionId: null,
      });
    }
    if (s.definition && !this.registered.has(s.definition.key)) {
      await registerDefinition(this.db, s.definition);
      this.registered.add(s.definition.key);
    }
    // The next slot is computed from the database clock. Two statements, not a transaction, so that an
    // engine reaching an embedded database held by another process can do it too: a slot that passes
    // between them is simply due at once (and on time).
    const nextFireAt = nextSlotAfter(s.cron, s.timezone, await databaseNow(this.db));
    const saved = await upsertSchedule(this.db, { ...s, nextFireAt });
    this.pokeSchedulers();
    return saved;
  }

  /** checkSameInput for a batch's items that met an execution under their key, read in `db` (its transaction). */
  private async checkSameInputs(
    db: Queryable,
    started: readonly { executionId: string; created: boolean }[],
    keys: readonly (string | null)[],
    inputs: readonly unknown[],
  ): Promise<void> {
    const met = started.flatMap((s, i) => (!s.created && keys[i] !== null ? [i] : []));
    if (met.length === 0) return;
    const rows = await db.query<{ id: string; input: unknown }>('SELECT id, input FROM aries.executions WHERE id = ANY ($1::uuid[])', [
      [...new Set(met.map((i) => started[i]!.executionId))],
    ]);
    const stored = new Map(rows.map((r) => [r.id, r.input]));
    for (const i of met) {
      const id = started[i]!.executionId;
      if (!stored.has(id)) continue; // purged, its key retained: no input left to compare
      const existing = await decodePayload(stored.get(id), 'input', this.codec, { kind: 'input', executionId: id });
      if (!sameInput(existing, inputs[i])) {
        throw new IdempotencyConflictError(`item ${i + 1} of the batch: idempotency key "${keys[i]}" already started execution ${id} with a different input`);
      }
    }
  }

  private async checkSameInput(executionId: string, key: string | null, input: unknown): Promise<void> {
    const existing = await this.admin.readExecution(executionId);
    if (existing === undefined) return; // purged, its key retained: there is no input left to compare
    if (!sameInput(existing.input, input)) {
      throw new IdempotencyConflictError(`idempotency key "${key}" already started execution ${executionId} with a different input`);
    }
  }

  /** Checks a start's arguments and registers the workflow (and the queues it names): what start_execution takes. */
  private async prepareStart<Input, Output>(
    workflow: Workflow<Input, Output> | string,
    input: Input,
    options: StartOptions,
  ): Promise<
    {
      workflow: string;
      version: string | null;
      input: unknown;
      inputJson: string | null;
      idempotencyKey: string | null;
      timeoutMs: number | null;
    } & StartPlacement
  > {
    this.assertOpen();
    let name: string;
    let version: string | null;
    if (typeof workflow === 'string') {
      name = workflow;
      version = options.version ?? null;
    } else {
      if (!isWorkflow(workflow)) throw new InvalidDefinitionError('engine.start needs a workflow from defineWorkflow() or its name');
      name = workflow.name;
      version = workflow.version;
      if (!this.registered.has(workflow.key)) {
        await registerDefinition(this.db, workflow);
        this.registered.add(workflow.key);
      }
    }
    const key = checkIdempotencyKey(options.idempotencyKey, 'idempotencyKey');
    const timeoutMs = options.timeoutMs ?? (typeof workflow === 'string' ? undefined : workflow.timeoutMs);
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw new InvalidInputError(`timeoutMs must be a positive finite number of milliseconds, got ${String(timeoutMs)}`);
    }
    const placement = await this.placement(options);
    if (placement.debounce && key !== undefined) {
      throw new InvalidInputError('a start cannot be both debounced and idempotent: give debounce or idempotencyKey, not both');
    }
    const inputJson = await encodePayload(input === undefined ? null : input, 'input', this.maxPayloadBytes, this.codec, { kind: 'input', executionId: null });
    return { workflow: name, version, input, inputJson, idempotencyKey: key ?? null, timeoutMs: timeoutMs === undefined ? null : Math.ceil(timeoutMs), ...placement };
  }

  /** A start's queue, key, priority, delay and debounce, checked; a defineQueue() value is registered. */
  private async placement(options: StartOptions): Promise<StartPlacement> {
    const { queue, queueKey, priority, delayMs, debounce } = options;
    let queueName: string | null = null;
    if (isQueue(queue)) {
      if (!this.registered.has(`queue:${queue.name}`)) {
        await registerQueue(this.db, queue.name, queue.limits);
        this.registered.add(`queue:${queue.name}`);
      }
      queueName = queue.name;
    } else if (queue !== undefined) {
      checkQueueName(queue, InvalidInputError);
      queueName = queue;
    }
    if (queueKey !== undefined && (typeof queueKey !== 'string' || queueKey === '' || Buffer.byteLength(queueKey, 'utf8') > 512)) {
      throw new InvalidInputError(`queueKey must be a non-empty string of at most 512 bytes, got ${JSON.stringify(queueKey) ?? String(queueKey)}`);
    }
    if (priority !== undefined && !(Number.isInteger(priority) && Math.abs(priority) <= 2_147_483_647)) {
      throw new InvalidInputError(`priority must be an integer, got ${String(priority)}`);
    }
    if (delayMs !== undefined && !isDelay(delayMs)) throw new InvalidInputError(`delayMs must be a finite number >= 0, got ${String(delayMs)}`);
    let checkedDebounce: StartPlacement['debounce'] = null;
    if (debounce !== undefined) {
      const d = debounce as { key?: unknown; delayMs?: unknown; maxDelayMs?: unknown } | null;
      if (typeof d !== 'object' || d === null || typeof d.key !== 'string' || d.key === '' || Buffer.byteLength(d.key, 'utf8') > 512) {
        throw new InvalidInputError('debounce needs { key, delayMs, maxDelayMs? } with a non-empty key of at most 512 bytes');
      }
      if (!isDelay(d.delayMs)) throw new InvalidInputError(`debounce.delayMs must be a finite number >= 0, got ${String(d.delayMs)}`);
      if (d.maxDelayMs !== undefined && !isDelay(d.maxDelayMs)) {
        throw new InvalidInputError(`debounce.maxDelayMs must be a finite number >= 0, got ${String(d.maxDelayMs)}`);
      }
      checkedDebounce = { key: d.key, delayMs: Math.ceil(d.delayMs), maxDelayMs: d.maxDelayMs === undefined ? null : Math.ceil(d.maxDelayMs) };
    }
    return {
      queue: queueName,
      queueKey: queueKey ?? null,
      priority: priority ?? 0,
      delayMs: delayMs === undefined ? null : Math.ceil(delayMs),
      debounce: checkedDebounce,
    };
  }

  handle<Output = unknown>(id: string, created = false, debounced = false): ExecutionHandle<Output> {
    return new ExecutionHandle<Output>(id, created, this.db, (eid, fn) => this.onSettledHere(eid, fn), debounced, this.codec);
  }

  worker(options: WorkerOptions): Worker {
    this.assertOpen();
    if (this.db instanceof RemoteDatabase) {
      throw new InvalidInputError(
        `${this.db.description}: workers must run in the process that holds the embedded data dir (or use a PostgreSQL server)`,
      );
    }
    const worker = new Worker(this.db, options, {
      maxPayloadBytes: this.maxPayloadBytes,
      storedErrors: this.storedErrors,
      codec: this.codec,
      onError: this.onError,
      onFinished: (id) => this.notifySettled(id),
      metrics: this.metrics,
    });
    this.workers.add(worker);
    return worker;
  }

  private onSettledHere(id: string, fn: () => void): () => void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.waiters.delete(id);
    };
  }

  private pokeWorkers(): void {
    for (const w of this.workers) w.poke();
  }

  private pokeSchedulers(): void {
    for (const w of this.workers) w.pokeScheduler();
  }

  private notifySettled(id: string): void {
    for (const fn of [...(this.waiters.get(id) ?? [])]) fn();
  }

  /** Stops this engine's workers (gracefully) and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.stopMaintenance?.();
    for (const set of this.waiters.values()) for (const fn of [...set]) fn();
    await this.closeDb();
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

export function createEngine(options?: EngineOptions): Promise<Engine> {
  return Engine.create(options);
}
