// The server-drawn charts and the calendars behind the survey's rounds and the dashboard's weeks.
import { describe, expect, it } from 'vitest';
import { barChart, escapeXml } from '../../lib/charts.ts';
import { fiscalYearBounds, thaiFiscalYear } from '../../lib/fiscal-year.ts';
import { bangkokWeekStart } from '../../services/dashboard.ts';
import { currentRound } from '../../services/survey.ts';

describe('thaiFiscalYear', () => {
  it('turns over at 1 October 00:00 in Bangkok, named by the Buddhist-Era year it ends in', () => {
    expect(thaiFiscalYear(new Date('2026-09-30T16:59:59Z'))).toBe(2569); // 30 Sep 2026, 23:59:59 in Bangkok
    expect(thaiFiscalYear(new Date('2026-09-30T17:00:00Z'))).toBe(2570); // 1 Oct 2026, 00:00 in Bangkok
    expect(thaiFiscalYear(new Date('2027-01-15T00:00:00Z'))).toBe(2570);
    expect(fiscalYearBounds(2570)).toEqual({ from: new Date('2026-09-30T17:00:00Z'), to: new Date('2027-09-30T17:00:00Z') });
  });

  it('is the survey round unless SURVEY_ROUND is set', () => {
    expect(currentRound({}, new Date('2026-11-28T00:00:00Z'))).toBe('2570');
    expect(currentRound({ surveyRound: '2569' }, new Date('2026-11-28T00:00:00Z'))).toBe('2569');
  });
});

describe('bangkokWeekStart', () => {
  it('is Monday 00:00 in Bangkok', () => {
    expect(bangkokWeekStart(new Date('2026-11-29T16:59:00Z'))).toEqual(new Date('2026-11-22T17:00:00Z')); // Sunday 23:59 → Monday 23 Nov
    expect(bangkokWeekStart(new Date('2026-11-29T17:00:00Z'))).toEqual(new Date('2026-11-29T17:00:00Z')); // Monday 30 Nov, 00:00
  });
});

describe('barChart', () => {
  const chart = barChart({
    id: 'c1',
    title: 'Scores <overall>',
    description: 'one & two',
    series: [{ name: 'answers', color: '#1f5fa8' }],
    bars: [
      { label: '1', values: [2] },
      { label: '<script>', values: [4] },
    ],
    orientation: 'columns',
  });

  it('is an image named by its title and description, with every text escaped', () => {
    expect(chart).toMatch(/^<svg [^>]*role="img" aria-labelledby="c1-title c1-desc"/);
    expect(chart).toContain('<title id="c1-title">Scores &lt;overall&gt;</title>');
    expect(chart).toContain('<desc id="c1-desc">one &amp; two</desc>');
    expect(chart).not.toContain('<script>');
    expect(chart).not.toMatch(/style=|<script|on\w+=/);
    expect(escapeXml(`"'`)).toBe('&quot;&#39;');
  });

  it('draws each bar to scale, its value written on it', () => {
    const heights = [...chart.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([70, 140]);
    expect([...chart.matchAll(/data-value="([^"]*)"/g)].map((m) => m[1])).toEqual(['2', '4']);
  });

  it('stacks several series in rows, with a legend, against a given maximum', () => {
    const rows = barChart({
      id: 'c2',
      title: 't',
      series: [
        { name: 'active', color: '#111111' },
        { name: 'suspended', color: '#222222' },
      ],
      bars: [{ label: 'สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดอุดรธานี', values: [3, 1] }],
      orientation: 'rows',
      max: 8,
    });
    const widths = [...rows.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="14"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([59.3, 19.8]); // 3/8 and 1/8 of the 158 units of bar space
    expect(rows).toContain('data-value="3 / 1"');
    expect(rows).toContain('>active</text>');
    // The label shortened whole characters at a time (ส่ with its tone mark), the full one in the tooltip.
    expect(rows).toContain('text-anchor="end" fill="#1b2733">สำนักงานส่งเสริมก…</text>');
    expect(rows).toContain('<title>สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดอุดรธานี: 3 / 1</title>');
  });
});
