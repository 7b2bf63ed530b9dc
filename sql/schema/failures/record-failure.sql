-- aries.record_failure (function)
--
-- Records a failure from a stored error (its message, class and stack); returns its id.

CREATE FUNCTION aries.record_failure(p_execution_id uuid, p_failure_type text, p_strategy text, p_source text,
                                     p_error jsonb, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                     p_details jsonb DEFAULT NULL, p_retries_exhausted boolean DEFAULT false,
                                     p_checkpoint_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source, step_key,
                              attempt, error_class, stack, details, retries_exhausted, checkpoint_id)
  VALUES (p_execution_id, p_failure_type, coalesce(p_error ->> 'message', 'unknown error'), p_strategy, p_source,
          p_step_key, p_attempt, p_error ->> 'name', p_error ->> 'stack', coalesce(p_details, p_error -> 'details'),
          p_retries_exhausted, p_checkpoint_id)
  RETURNING failure_id
$$;
