-- aries.register_workflow (function)
--
-- Records that a worker serves workflow p_name version p_version, whose definition names queue p_queue
-- (NULL: none); registering it again refreshes last_seen_at and the queue.

CREATE FUNCTION aries.register_workflow(p_name text, p_version text, p_queue text DEFAULT NULL) RETURNS void
LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.workflows (name, version, queue_name) VALUES (p_name, p_version, p_queue)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now(), queue_name = excluded.queue_name
$$;
