/**
 * Failures per bucket stacked by type (bars, left axis) and the failure rate, failed ÷ finished
 * executions, as a dashed line on the right axis (no point where nothing finished).
 */
import { FAILURE_TYPES, type StatsBucket } from '../api/types';
import { ChartFrame, linePath } from './chart-frame';

export const FAILURE_COLORS = { TRANSIENT: '#e0a31b', PERMANENT: '#d64545', PARTIAL: '#8a5cd6' } as const;
const RATE = '#27313f';

function finished(b: StatsBucket): number {
  return b.completed + b.failed + b.compensated + b.cancelled;
}

export function FailureChart({ buckets }: { buckets: StatsBucket[] }) {
  const totals = buckets.map((b) => FAILURE_TYPES.reduce((sum, t) => sum + (b.failures[t] ?? 0), 0));
  const rates = buckets.map((b) => (finished(b) > 0 ? b.failed / finished(b) : null));
  const count = (t: (typeof FAILURE_TYPES)[number]) => buckets.reduce((s, b) => s + (b.failures[t] ?? 0), 0);
  const failed = buckets.reduce((s, b) => s + b.failed, 0);
  const done = buckets.reduce((s, b) => s + finished(b), 0);
  return (
    <ChartFrame
      testId="failure-chart"
      times={buckets.map((b) => b.at)}
      maxValue={Math.max(0, ...totals)}
      ratioAxis
      legend={[
        ...FAILURE_TYPES.map((t) => ({ label: `${t} (${count(t)})`, color: FAILURE_COLORS[t] })),
        { label: `Failure rate (${done > 0 ? Math.round((failed / done) * 100) : 0}%)`, color: RATE, dashed: true },
      ]}
      data={{ failures: totals.reduce((a, b) => a + b, 0), failed, finished: done }}
    >
      {({ x, band, y, yRatio }) => (
        <g>
          {buckets.map((b, i) => {
            let base = 0;
            const w = Math.max(1, band * 0.7);
            return (
              <g key={b.at}>
                <title>{`${b.at}: ${FAILURE_TYPES.map((t) => `${b.failures[t] ?? 0} ${t}`).join(', ')}`}</title>
                {FAILURE_TYPES.map((t) => {
                  const v = b.failures[t] ?? 0;
                  if (v === 0) return null;
                  const y0 = y(base);
                  base += v;
                  return (
                    <rect key={t} x={x(i) + (band - w) / 2} y={y(base)} width={w} height={y0 - y(base)} fill={FAILURE_COLORS[t]} data-failure-type={t} rx={1.5} />
                  );
                })}
              </g>
            );
          })}
          <path
            d={linePath(rates.map((r, i) => (r === null ? null : [x(i) + band / 2, yRatio(r)])))}
            stroke={RATE}
            className="chart-line chart-dashed"
            data-series="failure-rate"
          />
          {rates.map((r, i) => (r === null ? null : <circle key={i} cx={x(i) + band / 2} cy={yRatio(r)} r={2} fill={RATE} />))}
        </g>
      )}
    </ChartFrame>
  );
}
