// DLA's offices loaded from the package of Thailand's administrative areas, into the run's shared
// database: other files may load them too, so this file asserts on the real codes (DLA, P41, D4101)
// and never on how many units the whole database holds.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../db/client.ts';
import { auditEvents, orgUnits } from '../../db/schema.ts';
import { BANGKOK, CODE_FIXES, DLA_CODE, loadThailandOffices, NAME_FIXES, thailandAreas, thailandOffices } from '../../services/thailand-offices.ts';

let database: Database;
beforeAll(async () => {
  database = await openDatabase({ databaseUrl: inject('databaseUrl'), dataDir: '/tmp', maxConnections: 2 });
});
afterAll(async () => {
  await database?.close();
});

describe("DLA offices from Thailand's administrative areas", () => {
  it('makes one provincial office for each province but Bangkok, and one district office for each of their districts', async () => {
    const { provinces, districts } = await import('@bilions/thailand-address');
    const offices = await thailandOffices();
    const expectedDistricts = districts.filter((d) => d.province_id !== provinces.find((p) => String(p.code) === BANGKOK)!.id).length;
    expect(offices.filter((o) => o.kind === 'dla')).toHaveLength(1);
    expect(offices.filter((o) => o.kind === 'province_office')).toHaveLength(76);
    expect(offices.filter((o) => o.kind === 'district_office')).toHaveLength(expectedDistricts);
    expect(expectedDistricts).toBe(878);
    expect(offices.some((o) => o.code === 'P10' || o.code.startsWith('D10'))).toBe(false);
  });

  it('loads them under DLA, with Thai and English names and DOPA codes, and a second load changes nothing', async () => {
    const first = await loadThailandOffices(database.db);
    expect(first).toMatchObject({ department: 1, provinceOffices: 76, districtOffices: 878 });
    expect(first.inserted + first.updated + first.unchanged).toBe(955);

    const { db } = database;
    const [{ n: provincial } = { n: 0 }] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(orgUnits)
      .where(and(eq(orgUnits.parentCode, DLA_CODE), eq(orgUnits.kind, 'province_office')));
    expect(provincial).toBe(76);
    const [{ n: district } = { n: 0 }] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(orgUnits)
      .where(and(eq(orgUnits.kind, 'district_office'), sql`${orgUnits.code} ~ '^D[0-9]{4}$'`, sql`${orgUnits.parentCode} ~ '^P[0-9]{2}$'`));
    expect(district).toBe(878);

    const [udon] = await db.select().from(orgUnits).where(eq(orgUnits.code, 'P41'));
    expect(udon).toMatchObject({
      parentCode: DLA_CODE,
      kind: 'province_office',
      dopaCode: '41',
      nameTh: 'สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดอุดรธานี',
      nameEn: 'Provincial Office for Local Administration, Udon Thani',
    });
    const [mueang] = await db.select().from(orgUnits).where(eq(orgUnits.code, 'D4101'));
    expect(mueang).toMatchObject({
      parentCode: 'P41',
      kind: 'district_office',
      dopaCode: '4101',
      nameTh: 'สำนักงานส่งเสริมการปกครองท้องถิ่นอำเภอเมืองอุดรธานี',
      nameEn: 'District Office for Local Administration, Mueang Udon Thani',
    });
    expect(await db.select().from(orgUnits).where(eq(orgUnits.code, DLA_CODE))).toMatchObject([
      { parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
    ]);

    const second = await loadThailandOffices(database.db);
    expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: 955 });
    const [again] = await db.select().from(orgUnits).where(eq(orgUnits.code, 'P41'));
    expect(again!.updatedAt).toEqual(udon!.updatedAt);
  });

  it("brings an office that drifted back to the package's data, and audits that load", async () => {
    await loadThailandOffices(database.db);
    await database.db.update(orgUnits).set({ nameEn: 'renamed by hand', parentCode: 'P42' }).where(eq(orgUnits.code, 'D4102'));
    await loadThailandOffices(database.db);
    const [unit] = await database.db.select().from(orgUnits).where(eq(orgUnits.code, 'D4102'));
    expect(unit).toMatchObject({ parentCode: 'P41', nameEn: 'District Office for Local Administration, Kut Chap' });
    const events = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'org_units.loaded'), eq(auditEvents.subjectId, 'thailand')));
    expect(events.some((e) => (e.after as { codes: string[] }).codes.includes('D4102'))).toBe(true);
  });

  it('keeps only corrections the package still needs, and no English name twice in a province but where Thai romanises alike', async () => {
    const { provinces, districts } = await import('@bilions/thailand-address');
    for (const fix of CODE_FIXES) {
      expect(
        districts.some((d) => String(d.code) === fix.code && d.name_in_thai === fix.nameTh),
        `stale code fix ${fix.code}`,
      ).toBe(true);
    }
    const raw = new Map([...provinces.map((p) => [String(p.code), p] as const), ...districts.map((d) => [String(d.code), d] as const)]);
    for (const fix of NAME_FIXES) {
      const code = CODE_FIXES.find((f) => f.right === fix.code)?.code ?? fix.code;
      const entry = raw.get(code)!;
      const value = fix.field === 'th' ? entry.name_in_thai : entry.name_in_english.trim().replace(/\s+/g, ' ');
      expect(value.toLowerCase(), `stale name fix ${fix.code}`).toBe(fix.wrong.toLowerCase());
    }
    const areas = await thailandAreas();
    const seen = new Map<string, string>();
    const alike = new Set(['14|Bang Sai']); // บางไทร and บางซ้าย, Phra Nakhon Si Ayutthaya
    for (const d of areas.districts) {
      const key = `${d.provinceCode}|${d.nameEn}`;
      if (!alike.has(key)) expect(seen.get(key), `${d.code} ${d.nameTh} has the English name of ${seen.get(key)}`).toBeUndefined();
      seen.set(key, `${d.code} ${d.nameTh}`);
    }
  });
});
