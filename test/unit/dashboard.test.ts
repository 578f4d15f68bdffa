// The Grafana dashboard reads only metrics the processes publish (names in lib/metrics.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lib/metrics.ts';

describe('ops/grafana-dashboard.json', () => {
  it("names only metrics of lib/metrics.ts (and the SDK's and Node's own)", () => {
    const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'ops', 'grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const ours = new Set<string>(Object.values(METRIC));
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b(sso_\w+)/g)].map((m) => m[1]!)));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect(ours.has(name.replace(/_(bucket|count|sum)$/, '')), name).toBe(true);
    for (const name of Object.values(METRIC).filter((n) => n !== METRIC.scrapeErrors))
      expect(
        used.some((u) => u.startsWith(name)),
        `${name} on the dashboard`,
      ).toBe(true);
  });
});
