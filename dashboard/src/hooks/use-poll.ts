/**
 * Fetches now, then again every `intervalMs` (live views), and whenever `key` changes. A slow answer to an
 * older key never overwrites a newer one. Polling pauses while the tab is hidden.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

export function usePoll<T>(fetcher: () => Promise<T>, key: string, intervalMs: number | null = 2000): Polled<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: ApiError }>({ key });
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const generation = useRef(0);

  const load = useCallback(() => {
    const mine = ++generation.current;
    fetcherRef.current().then(
      (data) => {
        if (mine === generation.current) setState({ key, data });
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', String(err));
        setState((prev) => ({ key, data: prev.key === key ? prev.data : undefined, error }));
      },
    );
  }, [key]);

  useEffect(() => {
    load();
    if (intervalMs === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') load();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [load, intervalMs]);

  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: !current || (state.data === undefined && state.error === undefined),
    reload: load,
  };
}
