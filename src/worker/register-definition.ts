/**
 * Registering a workflow definition in the database: the queue it names first (when it is a defineQueue()
 * value: a queue given by name must be registered elsewhere), then the workflow with that queue's name,
 * then its retention policy (unless an operator set that workflow's).
 * The engine does it before a definition's first start, a worker when it starts.
 */
import type { Queryable } from '../db/database.js';
import { registerQueue } from '../db/queues.js';
import { registerRetentionPolicy } from '../db/retention.js';
import { registerWorkflow } from '../db/workflows.js';
import { isQueue, queueName } from '../sdk/types/queue.js';
import type { Workflow } from '../sdk/types/workflow.js';

export async function registerDefinition(db: Queryable, workflow: Workflow<any, any>): Promise<void> {
  if (isQueue(workflow.queue)) await registerQueue(db, workflow.queue.name, workflow.queue.limits);
  await registerWorkflow(db, workflow.name, workflow.version, queueName(workflow.queue) ?? null);
  await registerRetentionPolicy(db, workflow.name, workflow.retention);
}
