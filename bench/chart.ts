// A bar chart of ratios as a standalone SVG: one row per case, one bar per series (adapter) at the
// median, a whisker over the rounds' spread, and dashed lines at the targets. No dependencies:
// the markup is a few rectangles and lines.
import { writeFileSync } from 'node:fs';

export interface RatioBar {
  series: string;
  median: number;
  min: number;
  max: number;
}

export interface RatioRow {
  label: string;
  bars: RatioBar[];
}

export interface RatioChart {
  title: string;
  subtitle: string;
  rows: RatioRow[];
  /** Dashed vertical lines, such as the targets. */
  marks: Array<{ value: number; label: string }>;
}

const COLORS = ['#2f6fb2', '#d9822b', '#3a9a5b', '#8e5ab5'];
const WIDTH = 900;
const LABEL_WIDTH = 360;
const BAR_HEIGHT = 14;
const BAR_GAP = 4;
const ROW_GAP = 14;
const TOP = 80;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The chart as SVG markup. */
export function ratioChartSvg(chart: RatioChart): string {
  const series = [...new Set(chart.rows.flatMap((row) => row.bars.map((bar) => bar.series)))];
  const color = (name: string): string => COLORS[series.indexOf(name) % COLORS.length]!;
  const maxValue = Math.max(1.1, ...chart.rows.flatMap((row) => row.bars.map((bar) => bar.max)));
  const scaleMax = Math.ceil(maxValue * 10) / 10;
  const plotLeft = LABEL_WIDTH + 10;
  const plotWidth = WIDTH - plotLeft - 70;
  const x = (value: number): number => plotLeft + (Math.max(0, value) / scaleMax) * plotWidth;
  const parts: string[] = [];
  let y = TOP;
  for (const row of chart.rows) {
    const rowHeight = row.bars.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
    parts.push(`<text x="${LABEL_WIDTH}" y="${y + rowHeight / 2 + 4}" text-anchor="end" font-size="12">${escape(row.label)}</text>`);
    row.bars.forEach((bar, i) => {
      const top = y + i * (BAR_HEIGHT + BAR_GAP);
      const middle = top + BAR_HEIGHT / 2;
      parts.push(
        `<rect x="${plotLeft}" y="${top}" width="${(x(bar.median) - plotLeft).toFixed(1)}" height="${BAR_HEIGHT}" fill="${color(bar.series)}"><title>${escape(`${bar.series}: ${bar.median.toFixed(2)}x (${bar.min.toFixed(2)} to ${bar.max.toFixed(2)})`)}</title></rect>`,
        `<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${middle}" y2="${middle}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.min).toFixed(1)}" y1="${middle - 4}" y2="${middle + 4}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${x(bar.max).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${middle - 4}" y2="${middle + 4}" stroke="#222" stroke-width="1.5"/>`,
        `<text x="${(Math.max(x(bar.max), x(bar.median)) + 6).toFixed(1)}" y="${middle + 4}" font-size="11">${bar.median.toFixed(2)}x</text>`,
      );
    });
    y += rowHeight + ROW_GAP;
  }
  const bottom = y;
  const axis: string[] = [];
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += 0.1) {
    const tx = x(tick).toFixed(1);
    axis.push(
      `<line x1="${tx}" x2="${tx}" y1="${TOP - 6}" y2="${bottom - ROW_GAP + 4}" stroke="#e4e4e4"/>`,
      `<text x="${tx}" y="${bottom + 6}" text-anchor="middle" font-size="10" fill="#555">${tick.toFixed(1)}</text>`,
    );
  }
  const marks = chart.marks.map(
    (mark, i) =>
      `<line x1="${x(mark.value).toFixed(1)}" x2="${x(mark.value).toFixed(1)}" y1="${TOP - 10}" y2="${bottom - ROW_GAP + 4}" stroke="#b22" stroke-dasharray="4 3"/>` +
      `<text x="${x(mark.value).toFixed(1)}" y="${TOP - 14 - i * 12}" text-anchor="middle" font-size="10" fill="#b22">${escape(mark.label)}</text>`,
  );
  const legend = series.map(
    (name, i) =>
      `<rect x="${plotLeft + i * 110}" y="${bottom + 18}" width="12" height="12" fill="${color(name)}"/>` +
      `<text x="${plotLeft + i * 110 + 18}" y="${bottom + 28}" font-size="12">${escape(name)}</text>`,
  );
  const height = bottom + 44;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
    `<text x="10" y="40" font-size="11" fill="#444">${escape(chart.subtitle)}</text>`,
    ...axis,
    ...parts,
    ...marks,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

export function writeRatioChart(path: string, chart: RatioChart): void {
  writeFileSync(path, ratioChartSvg(chart));
}
