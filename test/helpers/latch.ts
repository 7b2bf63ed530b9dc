/** A promise opened from outside: `await latch.promise` until someone calls `latch.open()`. */
export interface Latch {
  promise: Promise<void>;
  open: () => void;
}

export function latch(): Latch {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
