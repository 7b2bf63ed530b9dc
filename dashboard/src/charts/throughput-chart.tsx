/** Executions started and completed per bucket: two lines over soft areas. */
import type { StatsBucket } from '../api/types';
import { ChartFrame, linePath } from './chart-frame';

const STARTED = '#3b6fd8';
const COMPLETED = '#1f9d6a';

export function ThroughputChart({ buckets }: { buckets: StatsBucket[] }) {
  const started = buckets.map((b) => b.started);
  const completed = buckets.map((b) => b.completed);
  const max = Math.max(0, ...started, ...completed);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return (
    <ChartFrame
      testId="throughput-chart"
      times={buckets.map((b) => b.at)}
      maxValue={max}
      legend={[
        { label: `Started (${sum(started)})`, color: STARTED },
        { label: `Completed (${sum(completed)})`, color: COMPLETED },
      ]}
      data={{ started: sum(started), completed: sum(completed) }}
    >
      {({ x, band, y }) => {
        const pts = (values: number[]) => values.map((v, i): [number, number] => [x(i) + band / 2, y(v)]);
        const area = (values: number[]) => {
          const p = pts(values);
          if (p.length === 0) return '';
          return `${linePath(p)}L${p[p.length - 1]![0].toFixed(1)},${y(0).toFixed(1)}L${p[0]![0].toFixed(1)},${y(0).toFixed(1)}Z`;
        };
        return (
          <g>
            <path d={area(started)} fill={STARTED} opacity={0.12} />
            <path d={area(completed)} fill={COMPLETED} opacity={0.12} />
            <path d={linePath(pts(started))} stroke={STARTED} className="chart-line" data-series="started" />
            <path d={linePath(pts(completed))} stroke={COMPLETED} className="chart-line" data-series="completed" />
            {buckets.map((b, i) =>
              b.started > 0 || b.completed > 0 ? (
                <g key={b.at}>
                  <title>{`${b.at}: ${b.started} started, ${b.completed} completed`}</title>
                  <circle cx={x(i) + band / 2} cy={y(b.started)} r={2.5} fill={STARTED} data-point="started" />
                  <circle cx={x(i) + band / 2} cy={y(b.completed)} r={2.5} fill={COMPLETED} data-point="completed" />
                </g>
              ) : null,
            )}
          </g>
        );
      }}
    </ChartFrame>
  );
}
