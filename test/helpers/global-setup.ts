import { ADMIN_URL, serverAvailable } from './server.js';

export default async function setup(): Promise<void> {
  const available = await serverAvailable();
  if (!available) {
    if (process.env.CI === 'true' || process.env.CI === '1') {
      throw new Error(`CI: the PostgreSQL server at ${ADMIN_URL} is unreachable; server-backed tests cannot be skipped in CI`);
    }
    console.warn(`\n!! PostgreSQL at ${ADMIN_URL} is unreachable: server-backed tests are SKIPPED (set ARIES_TEST_DATABASE_URL)\n`);
  }
  process.env.ARIES_TEST_SERVER = available ? '1' : '0';
}
