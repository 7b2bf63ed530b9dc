/**
 * The workflow `aries verify` runs, picked by `name` or `name@version` from the workflows a module
 * exports. Both the verify command and its worker processes pick it the same way, so the command refuses
 * a name the module does not export before any store is created.
 */
import { InvalidInputError, UnknownWorkflowError } from '../errors.js';
import type { Workflow } from '../sdk/define-workflow.js';

export function findWorkflow(workflows: readonly Workflow[], spec: string, modulePath: string): Workflow {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? undefined : spec.slice(at + 1);
  const matches = workflows.filter((w) => w.name === name && (version === undefined || w.version === version));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    const exported = workflows.map((w) => w.key).join(', ');
    throw new UnknownWorkflowError(`module ${modulePath} exports no workflow ${spec} (it exports ${exported})`);
  }
  throw new InvalidInputError(
    `module ${modulePath} exports ${matches.length} versions of ${name} (${matches.map((w) => w.key).join(', ')}); name one as ${name}@<version>`,
  );
}
