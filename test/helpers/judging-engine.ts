/**
 * An engine the fault tests open in the test process to set up or judge a run: no background vacuum (it
 * would only add noise to what is judged) and engine errors ignored (worker processes are being killed
 * around it), closed once `fn` is done with it.
 */
import { createEngine, type Engine, type EngineOptions } from '../../src/index.js';

export async function withEngine<T>(options: EngineOptions, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await createEngine({ ...options, vacuumIntervalMs: 0, onError: () => {} });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
