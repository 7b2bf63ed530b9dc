/**
 * What the SDK reads, decoded by the engine's codec before it is handed on: executions (input, output,
 * error), steps (output, error), journal records, failures, mailbox signals, schedules' inputs. Every read
 * of engine.admin and of an execution handle goes through here, so the HTTP API, the CLI and the dashboard
 * (which read through them) see decoded payloads. Without a codec an encoded payload is a CodecRequiredError.
 */
import { decodeDeep, decodePayload, decodeStoredError, isEncodedPayload, sealedError, type PayloadCodec, type PayloadKind } from '../core/payload-codec.js';
import type { StoredError } from '../core/stored-error.js';
import type { Schedule } from '../db/schedules.js';
import type { MailboxSignal } from '../db/signals.js';
import type { Execution, Failure, JournalRecord, Step } from '../db/rows.js';

type Codec = PayloadCodec | undefined;

async function decodeError(error: StoredError | null, what: string, codec: Codec, executionId: string): Promise<StoredError | null> {
  return error === null ? null : decodeStoredError(error, what, codec, executionId);
}

export async function decodeExecution<E extends Partial<Execution> & { id: string; error: StoredError | null }>(e: E, codec: Codec): Promise<E> {
  const what = `execution ${e.id}`;
  const out = { ...e, error: await decodeError(e.error, `the error of ${what}`, codec, e.id) };
  if ('input' in e) out.input = await decodePayload(e.input, `the input of ${what}`, codec, { kind: 'input', executionId: e.id });
  if ('output' in e) out.output = await decodePayload(e.output, `the output of ${what}`, codec, { kind: 'output', executionId: e.id });
  return out;
}

export async function decodeStep(s: Step, executionId: string, codec: Codec): Promise<Step> {
  const what = `step "${s.key}" of execution ${executionId}`;
  return {
    ...s,
    output: await decodePayload(s.output, `the output of ${what}`, codec, { kind: 'stepOutput', executionId }),
    error: await decodeError(s.error, `the error of ${what}`, codec, executionId),
  };
}

/** A journal record's payload kind: what the codec is told (the envelope does not say). */
const RECORD_KINDS: Record<string, PayloadKind> = {
  execution_started: 'input',
  execution_input_replaced: 'input',
  execution_completed: 'output',
  signal_received: 'signalPayload',
};

export async function decodeJournalRecord(r: JournalRecord, executionId: string, codec: Codec): Promise<JournalRecord> {
  const kind = RECORD_KINDS[r.kind] ?? (r.kind.endsWith('_failed') || r.kind.endsWith('_retrying') ? 'error' : 'stepOutput');
  return { ...r, payload: await decodeDeep(r.payload, `journal record ${r.lsn} (${r.kind}) of execution ${executionId}`, codec, { kind, executionId }) };
}

/**
 * A failures row keeps an encoded error's envelope as its details (a retry's, under details.error): its
 * message, stack and details come back from it.
 */
export async function decodeFailure<F extends Failure>(f: F, codec: Codec): Promise<F> {
  const what = `failure ${f.id} of execution ${f.executionId}`;
  const context = { kind: 'error' as const, executionId: f.executionId };
  const raw = f.details as Record<string, unknown> | null;
  const retry = typeof raw === 'object' && raw !== null && !isEncodedPayload(raw) && isEncodedPayload(raw.error);
  const envelope = isEncodedPayload(raw) ? raw : retry ? raw!.error : undefined;
  if (envelope === undefined) return { ...f, details: await decodeDeep(raw, what, codec, context) };
  const sealed = sealedError(await decodePayload(envelope, what, codec, context)) ?? {};
  return {
    ...f,
    message: typeof sealed.message === 'string' ? sealed.message : f.message,
    stack: typeof sealed.stack === 'string' ? sealed.stack : null,
    details: retry ? await decodeDeep(raw, what, codec, context) : (sealed.details ?? null),
  };
}

export async function decodeSignal(s: MailboxSignal, executionId: string, codec: Codec): Promise<MailboxSignal> {
  const what = `the payload of signal ${s.id} of execution ${executionId}`;
  return { ...s, payload: await decodePayload(s.payload, what, codec, { kind: 'signalPayload', executionId }) };
}

export async function decodeSchedule<S extends Schedule>(s: S, codec: Codec): Promise<S> {
  return { ...s, input: await decodePayload(s.input, `the input of schedule "${s.name}"`, codec, { kind: 'input', executionId: null }) };
}
