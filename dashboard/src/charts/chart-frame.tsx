/**
 * The frame every time chart shares: a fixed SVG coordinate space (it scales with its container), a
 * left count axis with nice ticks, an optional right percentage axis, time labels under the x axis and
 * a legend. Series draw themselves through the scales it passes to `children`.
 */
import type { ReactNode } from 'react';
import { formatClock } from '../components/format';

export const WIDTH = 600;
export const HEIGHT = 220;
export const PAD = { top: 12, right: 44, bottom: 26, left: 36 };

export interface Scales {
  /** Left edge of bucket i. */
  x: (i: number) => number;
  /** Width of one bucket. */
  band: number;
  y: (value: number) => number;
  /** For a 0..1 ratio on the right axis. */
  yRatio: (ratio: number) => number;
}

export interface LegendItem {
  label: string;
  color: string;
  dashed?: boolean;
}

/** Round ticks for a count axis: a 1/2/5 × 10ⁿ step (at least 1) giving about four intervals up to `max`. */
export function countTicks(max: number): number[] {
  const rough = Math.max(max, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power);
  const top = Math.max(4, Math.ceil(max / step)) * step;
  return Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
}

interface Props {
  testId: string;
  times: string[];
  maxValue: number;
  ratioAxis?: boolean;
  legend: LegendItem[];
  data?: Record<string, string | number>;
  children: (scales: Scales) => ReactNode;
}

export function ChartFrame({ testId, times, maxValue, ratioAxis, legend, data = {}, children }: Props) {
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const ticks = countTicks(maxValue);
  const top = ticks[ticks.length - 1]!;
  const n = Math.max(times.length, 1);
  const band = innerW / n;
  const scales: Scales = {
    x: (i) => PAD.left + i * band,
    band,
    y: (v) => PAD.top + innerH - (v / top) * innerH,
    yRatio: (r) => PAD.top + innerH - r * innerH,
  };
  const labelEvery = Math.max(1, Math.ceil(n / 6));
  const dataAttrs = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, String(v)]));

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" data-testid={testId} {...dataAttrs}>
        {ticks.map((value) => {
          const y = scales.y(value);
          return (
            <g key={value}>
              <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} className="chart-grid" />
              <text x={PAD.left - 6} y={y + 4} className="chart-tick" textAnchor="end">
                {value}
              </text>
              {ratioAxis && (
                <text x={WIDTH - PAD.right + 6} y={y + 4} className="chart-tick">
                  {Math.round((value / top) * 100)}%
                </text>
              )}
            </g>
          );
        })}
        {times.map((at, i) =>
          i % labelEvery === 0 ? (
            <text key={at} x={scales.x(i) + band / 2} y={HEIGHT - 8} className="chart-tick" textAnchor="middle">
              {formatClock(at)}
            </text>
          ) : null,
        )}
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top + innerH} y2={PAD.top + innerH} className="chart-axis" />
        {children(scales)}
      </svg>
      <figcaption className="chart-legend">
        {legend.map((item) => (
          <span key={item.label} className="legend-item">
            <span className={`legend-swatch ${item.dashed ? 'legend-dashed' : ''}`} style={{ background: item.color, borderColor: item.color }} />
            {item.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** An SVG path through the points, leaving a gap where a value is null. */
export function linePath(points: Array<[number, number] | null>): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    pen = true;
  }
  return d;
}
