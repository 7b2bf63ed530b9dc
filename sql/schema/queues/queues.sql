-- aries.queues (table)
--
-- A queue's limits, each optional (NULL: unlimited): concurrency (executions holding a slot at once across
-- every worker), worker_concurrency (per claiming worker id), key_concurrency (per queue key; the '' key
-- is never key-limited), rate_limit first starts per rate_period_ms (a sliding window on the database
-- clock). paused stops new admissions. source says who set the limits last: 'definition' (register_queue,
-- from the code's defineQueue) or 'operator' (set_queue), whose change a later deploy does not overwrite.
-- rr_key is the round-robin cursor of claim_executions: the queue key it admitted last.

CREATE TABLE aries.queues (
  name               text PRIMARY KEY,
  concurrency        integer,
  worker_concurrency integer,
  key_concurrency    integer,
  rate_limit         integer,
  rate_period_ms     bigint,
  paused             boolean NOT NULL DEFAULT false,
  source             text NOT NULL DEFAULT 'definition',
  rr_key             text,
  created_at         timestamptz NOT NULL DEFAULT aries.now(),
  updated_at         timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT queues_name_check CHECK (name <> '' AND pg_catalog.octet_length(name) <= 200),
  CONSTRAINT queues_limits_check CHECK (concurrency > 0 AND worker_concurrency > 0 AND key_concurrency > 0
                                        AND rate_limit > 0 AND rate_period_ms > 0),
  CONSTRAINT queues_rate_check CHECK ((rate_limit IS NULL) = (rate_period_ms IS NULL)),
  CONSTRAINT queues_source_check CHECK (source IN ('definition', 'operator'))
);
