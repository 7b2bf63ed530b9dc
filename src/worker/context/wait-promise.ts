/**
 * The promise a wait returns, and how the run tells which waits lost a race.
 *
 * `Promise.race`, `Promise.any` and `Promise.all` subscribe to each promise they are given with `then`:
 * race hands every member the same resolve and reject functions, any the same resolve, all the same
 * reject. A WaitPromise records, per callback, which waits subscribed with it; when a wait's outcome
 * reaches a callback other waits share, those others lost (the race is decided, or the Promise.all
 * rejected): the run cancels them, so a signal one of them would have taken stays in the mailbox. The
 * `then` of a wait returns a WaitPromise of the same waits, so `ctx.sleep(…).then(() => 'late')` races as
 * the sleep does. A WaitPromise says its constructor is Promise: `Promise.race` and `Promise.resolve` take
 * it as it is (instead of wrapping it in a new promise, whose `then` would hide the callbacks).
 *
 * A wait awaited inside an async function is raced as that function's promise, which is not a wait: if it
 * loses, it stays open until the workflow function returns (and is cancelled then).
 */

type Callback = ((value: never) => unknown) | null | undefined;

/** Which waits subscribed with which callbacks, for one run; `lost` cancels waits that lost. */
export class RaceTracker {
  private readonly subscribers = new WeakMap<object, Set<string>>();
  constructor(private readonly lost: (keys: string[]) => void) {}

  subscribe(keys: readonly string[], ...callbacks: Callback[]): void {
    for (const cb of callbacks) {
      if (typeof cb !== 'function') continue;
      let set = this.subscribers.get(cb);
      if (!set) this.subscribers.set(cb, (set = new Set()));
      for (const k of keys) set.add(k);
    }
  }

  /** The outcome of `keys` reached `cb`: every other wait subscribed with it lost. */
  fired(cb: Callback, keys: readonly string[]): void {
    if (typeof cb !== 'function') return;
    const set = this.subscribers.get(cb);
    if (!set) return;
    const losers = [...set].filter((k) => !keys.includes(k));
    if (losers.length > 0) this.lost(losers);
  }
}

export class WaitPromise<T> extends Promise<T> {
  readonly #tracker: RaceTracker;
  readonly #keys: readonly string[];

  constructor(
    executor: (resolve: (value: T | PromiseLike<T>) => void, reject: (reason?: unknown) => void) => void,
    tracker: RaceTracker,
    keys: readonly string[],
  ) {
    super(executor);
    this.#tracker = tracker;
    this.#keys = keys;
    void Object.defineProperty(this, 'constructor', { value: Promise });
  }

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const tracker = this.#tracker;
    const keys = this.#keys;
    tracker.subscribe(keys, onFulfilled as Callback, onRejected as Callback);
    return new WaitPromise<A | B>(
      (resolve, reject) => {
        void super.then(
          (value) => {
            tracker.fired(onFulfilled as Callback, keys);
            if (typeof onFulfilled !== 'function') return resolve(value as unknown as A);
            try {
              resolve(onFulfilled(value));
            } catch (err) {
              reject(err);
            }
          },
          (reason: unknown) => {
            tracker.fired(onRejected as Callback, keys);
            if (typeof onRejected !== 'function') return reject(reason);
            try {
              resolve(onRejected(reason));
            } catch (err) {
              reject(err);
            }
          },
        );
      },
      tracker,
      keys,
    );
  }
}
