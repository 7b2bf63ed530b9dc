/**
 * Loads the modules given to `aries worker` and collects the workflows they export: named exports, the
 * default export, and arrays of workflows in either. TypeScript modules load through tsx's ESM loader,
 * registered once before the first import, so a project needs no build step to run a worker.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { InvalidDefinitionError } from '../errors.js';
import { isWorkflow, type Workflow } from '../sdk/define-workflow.js';
import { CliError } from './cli-error.js';
import { isAriesError } from './report-error.js';

let typeScriptRegistered = false;

function registerTypeScript(): void {
  if (typeScriptRegistered) return;
  register();
  typeScriptRegistered = true;
}

function workflowsIn(exports: Record<string, unknown>): Workflow[] {
  const found: Workflow[] = [];
  for (const value of Object.values(exports)) {
    if (isWorkflow(value)) found.push(value);
    else if (Array.isArray(value)) found.push(...value.filter(isWorkflow));
  }
  return found;
}

async function importModule(specifier: string, cwd: string): Promise<Record<string, unknown>> {
  const path = resolve(cwd, specifier);
  if (!existsSync(path)) throw new CliError(`module ${specifier} not found (looked for ${path})`);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    // An AriesError (an invalid defineWorkflow call, say) explains itself; anything else is a bug in the
    // module, whose stack is the useful part.
    if (isAriesError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot load module ${specifier}: ${message}`, {
      detail: err instanceof Error ? err.stack : undefined,
      cause: err,
    });
  }
}

/** One named export of a module, loaded as `aries worker` loads it (undefined when it has none). */
export async function loadModuleExport(specifier: string, name: string, cwd = process.cwd()): Promise<unknown> {
  registerTypeScript();
  return (await importModule(specifier, cwd))[name];
}

/** The workflows of all modules, each once; two different definitions of one name@version are refused. */
export async function loadWorkflowModules(specifiers: string[], cwd = process.cwd()): Promise<Workflow[]> {
  registerTypeScript();
  const byKey = new Map<string, { workflow: Workflow; module: string }>();
  for (const specifier of specifiers) {
    const workflows = workflowsIn(await importModule(specifier, cwd));
    if (workflows.length === 0) throw new InvalidDefinitionError(`module ${specifier} exports no workflow (defineWorkflow)`);
    for (const workflow of workflows) {
      const seen = byKey.get(workflow.key);
      if (seen && seen.workflow !== workflow) {
        throw new InvalidDefinitionError(
          `workflow ${workflow.key} is defined twice (in ${seen.module} and ${specifier}); give one a new version`,
        );
      }
      byKey.set(workflow.key, { workflow, module: seen?.module ?? specifier });
    }
  }
  return [...byKey.values()].map((v) => v.workflow);
}
