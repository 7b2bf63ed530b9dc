-- aries.executions (table)
--
-- One run of a workflow. Its status follows execution_transitions. A worker owns a RUNNING (or
-- COMPENSATING) execution while its lease (lease_expires_at, judged on the database clock) is live;
-- lease_token is the fencing token, incremented on every claim, and every write a worker makes carries
-- it. A RUNNING execution always has an owner, and only RUNNING and COMPENSATING ones keep one; an
-- execution has finished_at exactly when it is final, and an output only when COMPLETED. The
-- A child execution names its parent and the parent's step key that started it (parent_close: what a
-- cancel of the parent does to it; has_children: it started one, so its end concerns them); deadline_at is the whole execution's deadline (timeoutMs). The
-- constraint names executions_check1 / _check2 are those the first schema gave them, kept so that every
-- database has the same catalog.
-- A queued execution names its queue (queue_name) and a queue_key ('' when its start gave none; an
-- unqueued one has neither) and holds a slot of its queue exactly while it has a lease owner; priority
-- orders a queue's PENDING work (higher first). debounce_key marks a PENDING execution later starts with
-- the same workflow and key replace the input of (until it is claimed), never due after debounce_deadline.

CREATE TABLE aries.executions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_name    text NOT NULL,
  workflow_version text NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' REFERENCES aries.execution_statuses (status),
  input            jsonb,
  output           jsonb,
  error            jsonb,
  idempotency_key  text UNIQUE,
  available_at     timestamptz NOT NULL DEFAULT aries.now(),
  lease_owner      text,
  lease_token      bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  claim_count      integer NOT NULL DEFAULT 0,
  step_count       integer NOT NULL DEFAULT 0,
  last_lsn         bigint,
  created_at       timestamptz NOT NULL DEFAULT aries.now(),
  updated_at       timestamptz NOT NULL DEFAULT aries.now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  parent_id        uuid REFERENCES aries.executions (id) ON DELETE SET NULL,
  parent_step_key  text,
  parent_close     text,
  deadline_at      timestamptz,
  has_children     boolean NOT NULL DEFAULT false,
  queue_name       text,
  queue_key        text,
  priority         integer NOT NULL DEFAULT 0,
  debounce_key     text,
  debounce_deadline timestamptz,
  FOREIGN KEY (workflow_name, workflow_version) REFERENCES aries.workflows (name, version),
  CONSTRAINT executions_lease_check CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
  CONSTRAINT executions_running_leased_check CHECK (status <> 'RUNNING' OR lease_owner IS NOT NULL),
  CONSTRAINT executions_leased_status_check CHECK (lease_owner IS NULL OR status IN ('RUNNING', 'COMPENSATING')),
  CONSTRAINT executions_check1 CHECK ((status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')) = (finished_at IS NOT NULL)),
  CONSTRAINT executions_check2 CHECK (status IN ('COMPLETED', 'SUB_COMMITTED') OR output IS NULL),
  CONSTRAINT executions_idempotency_key_check CHECK (idempotency_key IS NULL OR idempotency_key <> ''),
  CONSTRAINT executions_parent_check CHECK ((parent_id IS NULL) = (parent_step_key IS NULL)
                                            AND (parent_id IS NULL) = (parent_close IS NULL)),
  CONSTRAINT executions_parent_close_check CHECK (parent_close IN ('cancel', 'abandon')),
  CONSTRAINT executions_sub_committed_check CHECK (status <> 'SUB_COMMITTED' OR parent_id IS NOT NULL),
  CONSTRAINT executions_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES aries.queues (name),
  CONSTRAINT executions_queue_check CHECK ((queue_name IS NULL) = (queue_key IS NULL))
);
-- The claim query's indexes: runnable work ordered by when it becomes runnable, and leases to reap.
CREATE INDEX executions_runnable_idx ON aries.executions (available_at) WHERE status = 'PENDING';
CREATE INDEX executions_lease_idx ON aries.executions (lease_expires_at) WHERE status = 'RUNNING';
-- Sleeping and waiting executions by when they are due (infinity: only a signal, a child or a cancel wakes them).
CREATE INDEX executions_waiting_idx ON aries.executions (available_at) WHERE status IN ('SLEEPING', 'WAITING');
-- A parent's children (cancel, commit and compensation go through them).
CREATE INDEX executions_parent_idx ON aries.executions (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX executions_compensating_idx ON aries.executions (available_at) WHERE status = 'COMPENSATING';
-- Keyset pages ordered by (created_at DESC, id DESC), one index per filter (see list pages in src/db).
CREATE INDEX executions_list_idx ON aries.executions (created_at DESC, id DESC);
CREATE INDEX executions_status_idx ON aries.executions (status, created_at DESC, id DESC);
CREATE INDEX executions_workflow_status_idx ON aries.executions (workflow_name, status, created_at DESC, id DESC);
-- Written once per execution (when it finishes): the overview's completed / compensated / cancelled counts.
CREATE INDEX executions_finished_idx ON aries.executions (finished_at) WHERE finished_at IS NOT NULL;
-- Queues (aries.admit_from_queue): slots held per queue, key and worker; a queue's PENDING work by
-- priority and key (the round robin's skip scan); due work per queue; first starts in the rate window.
CREATE INDEX executions_queue_slots_idx ON aries.executions (queue_name, queue_key, lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX executions_queue_pending_idx ON aries.executions (queue_name, priority DESC, queue_key, available_at, id)
  WHERE status = 'PENDING';
CREATE INDEX executions_queue_due_idx ON aries.executions (queue_name, available_at) WHERE status = 'PENDING';
CREATE INDEX executions_queue_woken_idx ON aries.executions (queue_name, available_at)
  WHERE status IN ('SLEEPING', 'WAITING', 'COMPENSATING');
CREATE INDEX executions_queue_started_idx ON aries.executions (queue_name, started_at) WHERE queue_name IS NOT NULL;
-- One PENDING debounced execution per (workflow, debounce key): concurrent debounced starts make one.
CREATE UNIQUE INDEX executions_debounce_idx ON aries.executions (workflow_name, debounce_key)
  WHERE status = 'PENDING' AND debounce_key IS NOT NULL;
-- Retention's candidates: a workflow's finished top-level executions, oldest first (purge_finished).
CREATE INDEX executions_retention_idx ON aries.executions (workflow_name, finished_at)
  WHERE finished_at IS NOT NULL AND parent_id IS NULL;
