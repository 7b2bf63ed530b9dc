/**
 * The API token: taken once from the URL fragment (`#token=...`, then removed from the address bar so it
 * does not end up in history or screenshots) and kept in sessionStorage for this tab.
 */
const KEY = 'aries.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage refused (private mode): the token lasts until the page reloads.
  }
}

/** Moves `token=...` out of the fragment (alone, or as a query parameter of the hash route). */
export function takeTokenFromLocation(): void {
  const hash = window.location.hash;
  const match = /(?:^#|[?&])token=([^&]*)/.exec(hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1] ?? ''));
  let rest = hash.replace(/([?&])token=[^&]*&?/, '$1').replace(/^#token=[^&]*&?/, '#').replace(/[?&]$/, '');
  if (rest === '#' || rest === '') rest = '#/';
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${rest}`);
}
