/**
 * The run's chart as plain SVG text: one panel per workload, a horizontal bar per system (Aries in one
 * colour, the peers in another), the figure printed at the bar's end. Written to bench/peers/results.svg.
 */

export interface ChartPanel {
  title: string;
  /** One bar per system; value undefined: drawn as "n/a". */
  bars: { label: string; value: number | undefined; aries: boolean }[];
  format: (v: number) => string;
}

const WIDTH = 760;
const LABEL_W = 190;
const BAR_H = 18;
const GAP = 6;
const PANEL_PAD = 34;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(title: string, subtitle: string, panels: ChartPanel[]): string {
  const out: string[] = [];
  let y = 56;
  for (const panel of panels) {
    out.push(`<text x="12" y="${y}" font-size="14" font-weight="bold">${escape(panel.title)}</text>`);
    y += 10;
    const max = Math.max(...panel.bars.map((b) => b.value ?? 0), 1e-9);
    const span = WIDTH - LABEL_W - 110;
    for (const bar of panel.bars) {
      const barY = y + GAP;
      out.push(`<text x="${LABEL_W - 8}" y="${barY + BAR_H - 5}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`);
      if (bar.value === undefined) {
        out.push(`<text x="${LABEL_W + 4}" y="${barY + BAR_H - 5}" font-size="12" fill="#777">n/a</text>`);
      } else {
        const w = Math.max(1, (bar.value / max) * span);
        const fill = bar.aries ? '#c0392b' : '#7f8c8d';
        out.push(`<rect x="${LABEL_W}" y="${barY}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${fill}"/>`);
        out.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${barY + BAR_H - 5}" font-size="12">${escape(panel.format(bar.value))}</text>`);
      }
      y = barY + BAR_H;
    }
    y += PANEL_PAD;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="12" y="40" font-size="11" fill="#555">${escape(subtitle)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
