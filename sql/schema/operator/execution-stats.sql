-- aries.execution_stats (function)
--
-- Per bucket of p_bucket_seconds from p_from (inclusive) to p_to (exclusive): executions started, finished
-- by status, and failures recorded by type. Buckets without any are returned with zeros.

CREATE FUNCTION aries.execution_stats(p_from timestamptz, p_to timestamptz, p_bucket_seconds integer)
RETURNS TABLE (bucket_at timestamptz, started bigint, completed bigint, failed bigint, compensated bigint,
               cancelled bigint, transient_failures bigint, permanent_failures bigint, partial_failures bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  WITH buckets AS (
    SELECT b AS bucket_at FROM pg_catalog.generate_series(p_from, p_to - pg_catalog.make_interval(secs => 1e-6),
                                                        pg_catalog.make_interval(secs => p_bucket_seconds)) b
  ),
  started AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.created_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e WHERE e.created_at >= p_from AND e.created_at < p_to GROUP BY 1
  ),
  finished AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.finished_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPLETED') AS completed,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATED') AS compensated,
           pg_catalog.count(*) FILTER (WHERE e.status = 'CANCELLED') AS cancelled
      FROM aries.executions e
     WHERE e.finished_at IS NOT NULL AND e.finished_at >= p_from AND e.finished_at < p_to GROUP BY 1
  ),
  failed AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.updated_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e
     WHERE e.status = 'FAILED' AND e.updated_at >= p_from AND e.updated_at < p_to GROUP BY 1
  ),
  failures AS (
    SELECT pg_catalog.floor(extract(epoch FROM f.failure_timestamp - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'TRANSIENT') AS transient,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PERMANENT') AS permanent,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PARTIAL') AS partial
      FROM aries.failures f WHERE f.failure_timestamp >= p_from AND f.failure_timestamp < p_to GROUP BY 1
  )
  SELECT b.bucket_at, coalesce(s.c, 0), coalesce(fi.completed, 0), coalesce(fa.c, 0), coalesce(fi.compensated, 0),
         coalesce(fi.cancelled, 0), coalesce(fl.transient, 0), coalesce(fl.permanent, 0), coalesce(fl.partial, 0)
    FROM buckets b
    LEFT JOIN started s ON s.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN finished fi ON fi.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failed fa ON fa.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failures fl ON fl.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
   ORDER BY b.bucket_at
$$;
