/**
 * A small seeded generator (mulberry32) for tests whose delays, orders and choices are random but must be
 * reproducible: a failing case names its seed, and the same seed draws the same sequence again.
 */
export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A shuffled copy of `items`. */
  shuffle<T>(items: readonly T[]): T[];
  /** `count` distinct items of `items`, in random order. */
  sample<T>(items: readonly T[], count: number): T[];
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const shuffle = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { seed, next, int, shuffle, sample: (items, count) => shuffle(items).slice(0, count) };
}

/** Seeds for a test: ARIES_TEST_SEEDS=1,2,3 replaces the defaults (to replay a failure, or to try more). */
export function testSeeds(defaults: readonly number[]): number[] {
  const given = process.env.ARIES_TEST_SEEDS;
  return given ? given.split(',').map((s) => Number(s.trim())) : [...defaults];
}
