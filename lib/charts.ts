// Bar charts drawn on the server as SVG, for pages under a strict CSP: no script, no style attribute,
// only presentation attributes. Each chart is an image with a title and a description for screen
// readers (role="img"); the page puts the same numbers in a table beside it. The drawing is sized for
// a 360-px phone and scrolls sideways inside its box (`.table-wrap`) where it is wider.

export interface ChartSeries {
  name: string;
  /** A fill colour, e.g. `#1f5fa8`. */
  color: string;
}

export interface ChartBar {
  /** Shown beside or under the bar (shortened when long; the full label is in the bar's tooltip). */
  label: string;
  /** One value per series; several series are stacked. */
  values: number[];
}

export interface BarChartOptions {
  /** Unique in the page: the ids of the title and description derive from it. */
  id: string;
  title: string;
  description?: string;
  series: ChartSeries[];
  bars: ChartBar[];
  /** `columns` stand on a baseline (scores 1–5, weeks); `rows` lie one under another (units). */
  orientation: 'columns' | 'rows';
  /** The top of the scale (e.g. 5 for a mean score); the largest bar otherwise. */
  max?: number;
  /** How a value is written on the chart. */
  format?: (value: number) => string;
}

export const CHART_COLORS = { primary: '#1f5fa8', warn: '#b34700', muted: '#7a8793' } as const;

const TEXT = '#1b2733';
const FONT = 'system-ui, Sarabun, Noto Sans Thai, sans-serif';
const WIDTH = 340;
const LABEL_CHARS = 14;

/** Text for XML content and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const graphemes = new Intl.Segmenter('th', { granularity: 'grapheme' });
/** At most `max` characters as people see them (a Thai vowel or tone mark stays on its consonant). */
const shorten = (label: string, max = LABEL_CHARS) => {
  const chars = [...graphemes.segment(label)].map((g) => g.segment);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : label;
};

const defaultFormat = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
const round1 = (n: number) => Math.round(n * 10) / 10;

/** An SVG bar chart (a string of markup, safe to put in the page as it is). */
export function barChart(options: BarChartOptions): string {
  const { id, title, description, series, bars, orientation } = options;
  const format = options.format ?? defaultFormat;
  const total = (bar: ChartBar) => bar.values.reduce((a, b) => a + b, 0);
  const max = Math.max(options.max ?? 0, ...bars.map(total), 0) || 1;
  const valueText = (bar: ChartBar) => (series.length > 1 ? bar.values.map(format).join(' / ') : format(bar.values[0] ?? 0));
  const legendHeight = series.length > 1 ? 22 : 0;
  const parts: string[] = [];

  if (legendHeight > 0) {
    let x = 0;
    for (const s of series) {
      parts.push(
        `<rect x="${x}" y="4" width="12" height="12" fill="${escapeXml(s.color)}"/><text x="${x + 16}" y="14" font-size="12" fill="${TEXT}">${escapeXml(shorten(s.name, 24))}</text>`,
      );
      x += 24 + Math.min(24, [...s.name].length) * 7;
    }
  }

  let height: number;
  if (orientation === 'rows') {
    const rowHeight = 22;
    const labelWidth = 118;
    const valueWidth = series.length > 1 ? 64 : 40;
    const span = WIDTH - labelWidth - valueWidth;
    bars.forEach((bar, i) => {
      const y = legendHeight + i * rowHeight;
      let x = labelWidth;
      const segments = bar.values.map((v, s) => {
        const w = round1((v / max) * span);
        const rect = `<rect x="${round1(x)}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" fill="${escapeXml(series[s]?.color ?? CHART_COLORS.primary)}"/>`;
        x += w;
        return rect;
      });
      parts.push(
        `<g data-label="${escapeXml(bar.label)}" data-value="${escapeXml(valueText(bar))}"><title>${escapeXml(`${bar.label}: ${valueText(bar)}`)}</title>` +
          `<text x="${labelWidth - 6}" y="${y + 15}" font-size="12" text-anchor="end" fill="${TEXT}">${escapeXml(shorten(bar.label))}</text>` +
          segments.join('') +
          `<text x="${round1(x) + 4}" y="${y + 15}" font-size="12" fill="${TEXT}">${escapeXml(valueText(bar))}</text></g>`,
      );
    });
    height = legendHeight + Math.max(1, bars.length) * rowHeight + 4;
  } else {
    const plotHeight = 140;
    const top = legendHeight + 16; // room for the value above the tallest bar
    const slot = WIDTH / Math.max(1, bars.length);
    const barWidth = Math.max(4, Math.min(48, slot * 0.7));
    bars.forEach((bar, i) => {
      const cx = slot * i + slot / 2;
      let y = top + plotHeight;
      const segments = bar.values.map((v, s) => {
        const h = round1((v / max) * plotHeight);
        y -= h;
        return `<rect x="${round1(cx - barWidth / 2)}" y="${round1(y)}" width="${round1(barWidth)}" height="${h}" fill="${escapeXml(series[s]?.color ?? CHART_COLORS.primary)}"/>`;
      });
      const labelChars = Math.max(3, Math.floor(slot / 7));
      parts.push(
        `<g data-label="${escapeXml(bar.label)}" data-value="${escapeXml(valueText(bar))}"><title>${escapeXml(`${bar.label}: ${valueText(bar)}`)}</title>` +
          segments.join('') +
          `<text x="${round1(cx)}" y="${round1(y - 4)}" font-size="11" text-anchor="middle" fill="${TEXT}">${escapeXml(valueText(bar))}</text>` +
          `<text x="${round1(cx)}" y="${top + plotHeight + 14}" font-size="11" text-anchor="middle" fill="${TEXT}">${escapeXml(shorten(bar.label, labelChars))}</text></g>`,
      );
    });
    parts.push(`<line x1="0" y1="${top + plotHeight}" x2="${WIDTH}" y2="${top + plotHeight}" stroke="${CHART_COLORS.muted}"/>`);
    height = top + plotHeight + 20;
  }

  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${escapeXml(id)}" role="img" aria-labelledby="${escapeXml(titleId)}${description ? ` ${escapeXml(descId)}` : ''}" ` +
    `width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}">` +
    `<title id="${escapeXml(titleId)}">${escapeXml(title)}</title>` +
    (description ? `<desc id="${escapeXml(descId)}">${escapeXml(description)}</desc>` : '') +
    parts.join('') +
    `</svg>`
  );
}
