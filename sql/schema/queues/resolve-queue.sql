-- aries.resolve_queue (function)
--
-- The queue an execution of p_workflow version p_version starts in: p_queue when the start names one,
-- else the queue its workflow definition names (workflows.queue_name), else none (NULL: unqueued). AR013
-- when that queue is not in aries.queues: an execution is never started into a queue nothing admits from.

CREATE FUNCTION aries.resolve_queue(p_workflow text, p_version text, p_queue text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
  v_queue text := p_queue;
BEGIN
  IF v_queue IS NULL THEN
    SELECT w.queue_name INTO v_queue FROM aries.workflows w WHERE w.name = p_workflow AND w.version = p_version;
  END IF;
  IF v_queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM aries.queues q WHERE q.name = v_queue) THEN
    RAISE EXCEPTION 'unknown queue "%" (starting workflow "%")', v_queue, p_workflow USING ERRCODE = 'AR013',
      HINT = 'define it with defineQueue and start through the SDK, or create it with aries.register_queue';
  END IF;
  RETURN v_queue;
END $$;
