-- aries.follow_execution_end (trigger function)
--
-- What the change of an execution's status means for its parent and its children, in the same
-- transaction:
--   a child ended (SUB_COMMITTED, COMPLETED, FAILED, COMPENSATED, CANCELLED) → its parent, if it waits
--     for it, is made due (and told by NOTIFY on commit);
--   a child undone (it leaves COMPENSATING) → a parent waiting for it in its own saga goes on;
--   a parent COMPLETED → its SUB_COMMITTED children commit (COMPLETED), and theirs in turn;
--   a parent COMPENSATING → its children under way are cancelled with their compensations run
--     (parent_close); its SUB_COMMITTED ones
--     are undone by its saga in reverse order (aries.compensate_child); any it did not reach are undone
--     when it ends COMPENSATED;
--   a parent CANCELLED → its unfinished children are cancelled (parent_close), its SUB_COMMITTED ones
--     commit: what completed stands, as the parent's own completed steps do.

CREATE FUNCTION aries.follow_execution_end() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  c record;
  v_lsn bigint;
  v_parent_status text;
  v_parent_workflow text;
  v_parent_waits boolean;
BEGIN
  IF NEW.parent_id IS NOT NULL AND NEW.status IN ('SUB_COMMITTED', 'COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED')
     AND OLD.status <> 'SUB_COMMITTED'
     AND EXISTS (SELECT 1 FROM aries.waits wt WHERE wt.child_id = NEW.id AND wt.execution_id = NEW.parent_id
                                              AND wt.resolved_at IS NULL) THEN
    -- The parent's row is locked even while it RUNS (and only made due once it waits): its worker's
    -- await_waits, which locks it too, then either reads this child's end once this commits, or has
    -- suspended it first, and this UPDATE, waiting for that lock, sees it WAITING. Without the lock, an
    -- end committed just after the parent looked and before it suspended would wake nothing.
    UPDATE aries.executions p
       SET available_at = CASE WHEN p.status IN ('SLEEPING', 'WAITING') THEN aries.now() ELSE p.available_at END
     WHERE p.id = NEW.parent_id AND p.status IN ('RUNNING', 'SLEEPING', 'WAITING')
    RETURNING p.status, p.workflow_name INTO v_parent_status, v_parent_workflow;
    IF v_parent_status IN ('SLEEPING', 'WAITING') THEN
      PERFORM pg_catalog.pg_notify('aries_wakeup', v_parent_workflow);
    END IF;
  END IF;
  -- A child undone with its parent's saga: the parent, waiting for it while COMPENSATING, goes on. Its row
  -- is locked while its worker still holds it, for the same reason (aries.compensate_child locks it too).
  IF NEW.parent_id IS NOT NULL AND OLD.status = 'COMPENSATING' THEN
    UPDATE aries.executions p
       SET available_at = CASE WHEN p.lease_owner IS NULL THEN aries.now() ELSE p.available_at END
     WHERE p.id = NEW.parent_id AND p.status = 'COMPENSATING'
    RETURNING p.lease_owner IS NULL, p.workflow_name INTO v_parent_waits, v_parent_workflow;
    IF v_parent_waits THEN
      PERFORM pg_catalog.pg_notify('aries_wakeup', v_parent_workflow);
    END IF;
  END IF;
  IF NOT NEW.has_children THEN
    RETURN NULL;
  END IF;
  IF NEW.status IN ('COMPENSATING', 'CANCELLED') THEN
    PERFORM aries.cancel_children(NEW.id, pg_catalog.format('its parent %s is %s', NEW.id, NEW.status),
                                  NEW.status = 'COMPENSATING');
  END IF;
  -- SUB_COMMITTED children commit with a parent that completes or is cancelled; a parent's saga undoes
  -- them in order (aries.compensate_child), and one it did not reach is undone when the parent is COMPENSATED.
  IF NEW.status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED') THEN
    FOR c IN SELECT ch.id, ch.last_lsn, ch.workflow_name FROM aries.executions ch
              WHERE ch.parent_id = NEW.id AND ch.status = 'SUB_COMMITTED' ORDER BY ch.id FOR UPDATE LOOP
      IF NEW.status = 'COMPENSATED' THEN
        v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_compensating', NULL, NULL, NULL,
          pg_catalog.jsonb_build_object('reason', pg_catalog.format('its parent %s was compensated', NEW.id)));
        UPDATE aries.executions e
           SET status = 'COMPENSATING', output = NULL, available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now(),
               error = pg_catalog.jsonb_build_object('name', 'ParentCompensatingError', 'code', 'PARENT_COMPENSATING',
                 'message', pg_catalog.format('compensated with its parent %s', NEW.id))
         WHERE e.id = c.id;
        PERFORM pg_catalog.pg_notify('aries_wakeup', c.workflow_name);
      ELSE
        v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_completed', NULL, NULL, NULL,
          pg_catalog.jsonb_build_object('committedWith', NEW.id));
        UPDATE aries.executions e SET status = 'COMPLETED', last_lsn = v_lsn, finished_at = aries.now(),
                                      updated_at = aries.now()
         WHERE e.id = c.id;
      END IF;
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
