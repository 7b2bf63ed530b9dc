-- aries.record_steps_durably (function)
--
-- record_steps_batch committed at durability class p_durability. A batch that only journals
-- intents still commits asynchronously when the server fsyncs (record_steps_batch lowers it to off):
-- losing an intent loses an attempt count, never a completed step.

CREATE FUNCTION aries.record_steps_durably(p_requests jsonb, p_durability text DEFAULT 'on')
RETURNS TABLE (execution_id uuid, attempt integer, error_code text, error_message text)
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.apply_durability(p_durability);
  RETURN QUERY SELECT * FROM aries.record_steps_batch(p_requests);
END $$;
