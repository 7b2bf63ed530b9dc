/**
 * `npm run chaos`: a chaos run anyone can repeat (see the README's fault-tolerance section). Parses the
 * options, prints the seed first, runs (./run-chaos.ts), prints the table and exits 1 on any failing
 * judgment, 2 when the run itself could not be done (bad options, no throwaway cluster).
 */
import { parseChaosOptions } from './options.js';
import { formatChaosReport } from './report.js';
import { runChaos } from './run-chaos.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseChaosOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  console.log(`chaos: seed ${options.seed}`);
  const result = await runChaos(options, (line) => console.log(`chaos: ${line}`));
  console.log(formatChaosReport(result));
  return result.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(2);
  },
);
