-- aries.claim_due_schedules (function)
--
-- Locks (FOR UPDATE SKIP LOCKED) up to p_limit schedules that are due: not paused, next_fire_at <=
-- aries.now(). Returns each with the database clock (db_now) its slots are to be judged on. Called first
-- in the firing transaction: the worker computes the slots between now and then with croner and calls
-- fire_schedule in the same transaction, so two workers never fire the same schedule at once (the second
-- skips the locked row, then finds next_fire_at moved on), and a worker that dies before COMMIT fires
-- nothing.

CREATE FUNCTION aries.claim_due_schedules(p_limit integer)
RETURNS TABLE (name text, cron text, timezone text, misfire text, max_lateness_ms bigint, next_fire_at timestamptz,
               last_slot_at timestamptz, sql_action text, db_now timestamptz)
LANGUAGE sql SET search_path = '' AS $$
  SELECT s.name, s.cron, s.timezone, s.misfire, s.max_lateness_ms, s.next_fire_at, s.last_slot_at, s.sql_action,
         aries.now()
    FROM aries.schedules s
   WHERE NOT s.paused AND s.next_fire_at <= aries.now()
   ORDER BY s.next_fire_at, s.name
   LIMIT p_limit
     FOR UPDATE OF s SKIP LOCKED
$$;
