// DLA's own offices across the country, from a package of Thailand's administrative areas
// (@bilions/thailand-address, DOPA area codes with Thai and English names): the department, a
// provincial office for every province but Bangkok (DLA has none there), and a district office for
// every district (amphoe) of those provinces. `npm start` loads them into an empty embedded
// database; `npm run org:load-thailand` loads them anywhere.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { count, sql } from 'drizzle-orm';
import { writeAudit } from '../db/audit.ts';
import type { Database, Db } from '../db/client.ts';
import { orgUnits, type UnitKind } from '../db/schema.ts';

export const DATA_PACKAGE = '@bilions/thailand-address';
export const DLA_CODE = 'DLA';
/** Bangkok's DOPA code: its 50 khet are districts of the city, with no DLA office. */
export const BANGKOK = '10';
export const provinceOfficeCode = (dopaCode: string) => `P${dopaCode}`;
export const districtOfficeCode = (dopaCode: string) => `D${dopaCode}`;

export interface Office {
  code: string;
  parentCode: string | null;
  kind: UnitKind;
  nameTh: string;
  nameEn: string;
  dopaCode: string | null;
}

export interface LoadResult {
  department: number;
  provinceOffices: number;
  districtOffices: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * Where the package disagrees with DOPA's own list. Each fix applies only while the package still
 * has the wrong value, so an upstream correction makes it a no-op (test/unit lists stale ones).
 */
export const CODE_FIXES: { code: string; nameTh: string; right: string }[] = [{ code: '4026', nameTh: 'เวียงเก่า', right: '4029' }];
export const NAME_FIXES: { code: string; field: 'th' | 'en'; wrong: string; right: string }[] = [
  { code: '11', field: 'en', wrong: 'Samut Prakarn', right: 'Samut Prakan' },
  { code: '1913', field: 'en', wrong: 'Chaloem Phra Kiet', right: 'Chaloem Phra Kiat' },
  { code: '2409', field: 'en', wrong: 'Pleang Yao', right: 'Plaeng Yao' },
  { code: '3029', field: 'en', wrong: 'Lamtaman Chai', right: 'Lam Thamenchai' },
  { code: '3032', field: 'en', wrong: 'Chaloem Phra Kiet', right: 'Chaloem Phra Kiat' },
  { code: '3117', field: 'en', wrong: 'Non Din Daeng', right: 'Non Suwan' },
  { code: '3123', field: 'en', wrong: 'Chaloem Phra Kiet', right: 'Chaloem Phra Kiat' },
  { code: '4106', field: 'en', wrong: 'Nong Saeng', right: 'Nong Han' },
  { code: '4705', field: 'en', wrong: 'Phanh Khon', right: 'Phang Khon' },
  { code: '4904', field: 'en', wrong: 'Don Tan', right: 'Dong Luang' },
  { code: '4906', field: 'th', wrong: 'ว่านใหญ่', right: 'หว้านใหญ่' },
  { code: '5402', field: 'en', wrong: 'Mueang Phrae', right: 'Rong Kwang' },
  { code: '5515', field: 'en', wrong: 'Chaloem Phra Kiet', right: 'Chaloem Phra Kiat' },
  { code: '5602', field: 'en', wrong: 'Mueang Phayao', right: 'Chun' },
  { code: '5603', field: 'en', wrong: 'Mueang Phayao', right: 'Chiang Kham' },
  { code: '5604', field: 'en', wrong: 'Mueang Phayao', right: 'Chiang Muan' },
  { code: '5605', field: 'en', wrong: 'Mueang Phayao', right: 'Dok Kham Tai' },
  { code: '5606', field: 'en', wrong: 'Mueang Phayao', right: 'Pong' },
  { code: '5607', field: 'en', wrong: 'Mueang Phayao', right: 'Mae Chai' },
  { code: '5608', field: 'en', wrong: 'Mueang Phayao', right: 'Phu Sang' },
  { code: '5609', field: 'en', wrong: 'Mueang Phayao', right: 'Phu Kamyao' },
  { code: '6010', field: 'en', wrong: 'Phayuha Hkiri', right: 'Phayuha Khiri' },
  { code: '6608', field: 'en', wrong: 'Tap Khlo', right: 'Thap Khlo' },
  { code: '7201', field: 'en', wrong: 'Mueang Saphan Buri', right: 'Mueang Suphan Buri' },
  { code: '8023', field: 'en', wrong: 'Chaloem Phra Kiet', right: 'Chaloem Phra Kiat' },
  { code: '8419', field: 'en', wrong: 'Chai Buri', right: 'Vibhavadi' },
  { code: '9310', field: 'th', wrong: 'ป่าพยอม', right: 'ป่าพะยอม' },
  { code: '9508', field: 'th', wrong: 'กรงปีนัง', right: 'กรงปินัง' },
  { code: '9603', field: 'en', wrong: 'Tak Bai', right: 'Bacho' },
];

/** The package's version, named in the audit trail and the README. */
export function dataPackageVersion(): string {
  return (createRequire(import.meta.url)(`${DATA_PACKAGE}/package.json`) as { version: string }).version;
}

/** One space between words, each word capitalised ("khlong Luang" → "Khlong Luang"). */
const tidyEn = (name: string) =>
  name
    .trim()
    .split(/\s+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
/** The area's own name, without a level word the package may put before it. */
const bareTh = (name: string) => name.replace(/\s+/g, '').replace(/^(กิ่งอำเภอ|อำเภอ|เขต|จังหวัด)/, '');
const bareEn = (name: string) => tidyEn(name).replace(/^(King Amphoe|Amphoe|Khet|Changwat) /, '');

function fixName(code: string, field: 'th' | 'en', name: string): string {
  return NAME_FIXES.find((f) => f.code === code && f.field === field && f.wrong === name)?.right ?? name;
}

/**
 * One of the package's lists, read for one load and let go of after it: its index would also read
 * the sub-districts (1.9 MB of source, never used), and an import would keep them all for the
 * process's life.
 */
function packageList<K extends 'provinces' | 'districts'>(name: K): (typeof import('@bilions/thailand-address'))[K] {
  const require = createRequire(import.meta.url);
  const path = require.resolve(`${DATA_PACKAGE}/dist/address/${name}.js`);
  try {
    return (require(path) as Record<K, (typeof import('@bilions/thailand-address'))[K]>)[name];
  } finally {
    delete require.cache[path];
  }
}

/** The package's provinces (Bangkok included) and districts, with the fixes above applied. */
export async function thailandAreas() {
  const provinces = packageList('provinces');
  const districts = packageList('districts');
  const provinceById = new Map(provinces.map((p) => [p.id, String(p.code)]));
  return {
    provinces: provinces.map((p) => {
      const code = String(p.code);
      return { code, nameTh: fixName(code, 'th', bareTh(p.name_in_thai)), nameEn: fixName(code, 'en', bareEn(p.name_in_english)) };
    }),
    districts: districts.map((d) => {
      const nameTh = bareTh(d.name_in_thai);
      const code = CODE_FIXES.find((f) => f.code === String(d.code) && f.nameTh === nameTh)?.right ?? String(d.code);
      return {
        code,
        provinceCode: provinceById.get(d.province_id)!,
        nameTh: fixName(code, 'th', nameTh),
        nameEn: fixName(code, 'en', bareEn(d.name_in_english)),
      };
    }),
  };
}

/** The department, its 76 provincial offices and their district offices, parents first. */
export async function thailandOffices(): Promise<Office[]> {
  const areas = await thailandAreas();
  const provinces = areas.provinces.filter((p) => p.code !== BANGKOK).sort((a, b) => a.code.localeCompare(b.code));
  const offices: Office[] = [
    { code: DLA_CODE, parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น', nameEn: 'Department of Local Administration', dopaCode: null },
    ...provinces.map((p): Office => ({
      code: provinceOfficeCode(p.code),
      parentCode: DLA_CODE,
      kind: 'province_office',
      dopaCode: p.code,
      nameTh: `สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด${p.nameTh}`,
      nameEn: `Provincial Office for Local Administration, ${p.nameEn}`,
    })),
    ...areas.districts
      .filter((d) => d.provinceCode !== BANGKOK)
      .sort((a, b) => a.code.localeCompare(b.code))
      .map((d): Office => ({
        code: districtOfficeCode(d.code),
        parentCode: provinceOfficeCode(d.provinceCode),
        kind: 'district_office',
        dopaCode: d.code,
        nameTh: `สำนักงานส่งเสริมการปกครองท้องถิ่นอำเภอ${d.nameTh}`,
        nameEn: `District Office for Local Administration, ${d.nameEn}`,
      })),
  ];
  // What the codes promise: unique, and each district inside its province.
  const codes = new Set(offices.map((o) => o.code));
  if (codes.size !== offices.length) throw new Error(`${DATA_PACKAGE}: a DOPA code appears twice`);
  const wrong = offices.find((o) => o.kind === 'district_office' && o.parentCode !== provinceOfficeCode(o.dopaCode!.slice(0, 2)));
  if (wrong) throw new Error(`${DATA_PACKAGE}: district ${wrong.dopaCode} is listed under ${wrong.parentCode}`);
  return offices;
}

/**
 * Upserts the offices in one transaction: a unit whose fields already match is left alone (a
 * second load changes nothing), any other is created or brought back to the package's data.
 * A load that changed something is audited.
 */
export async function loadThailandOffices(db: Db): Promise<LoadResult> {
  const offices = await thailandOffices();
  const result: LoadResult = {
    department: 1,
    provinceOffices: offices.filter((o) => o.kind === 'province_office').length,
    districtOffices: offices.filter((o) => o.kind === 'district_office').length,
    inserted: 0,
    updated: 0,
    unchanged: 0,
  };
  const excluded = (column: string) => sql.raw(`excluded.${column}`);
  await db.transaction(async (tx) => {
    const changed: string[] = [];
    for (let i = 0; i < offices.length; i += 1000) {
      const rows = await tx
        .insert(orgUnits)
        .values(offices.slice(i, i + 1000))
        .onConflictDoUpdate({
          target: orgUnits.code,
          set: {
            parentCode: excluded('parent_code'),
            kind: excluded('kind'),
            nameTh: excluded('name_th'),
            nameEn: excluded('name_en'),
            dopaCode: excluded('dopa_code'),
            updatedAt: new Date(),
          },
          setWhere: sql`(${orgUnits.parentCode}, ${orgUnits.kind}, ${orgUnits.nameTh}, ${orgUnits.nameEn}, ${orgUnits.dopaCode})
          is distinct from (excluded.parent_code, excluded.kind, excluded.name_th, excluded.name_en, excluded.dopa_code)`,
        })
        .returning({ code: orgUnits.code, inserted: sql<boolean>`xmax = 0` });
      for (const row of rows) {
        if (row.inserted) result.inserted += 1;
        else result.updated += 1;
        changed.push(row.code);
      }
    }
    result.unchanged = offices.length - changed.length;
    if (changed.length === 0) return;
    await writeAudit(tx, {
      key: `org-units:thailand:${randomUUID()}`,
      actor: 'system',
      action: 'org_units.loaded',
      subjectType: 'org_units',
      subjectId: 'thailand',
      reason: `DLA's offices from ${DATA_PACKAGE} ${dataPackageVersion()}`,
      after: { inserted: result.inserted, updated: result.updated, codes: changed.slice(0, 100), count: changed.length },
    });
  });
  return result;
}

/** At start: on an embedded database without any unit yet, the country's offices. */
export async function loadThailandOfficesIfEmpty(database: Database): Promise<LoadResult | undefined> {
  if (!database.embedded) return undefined;
  const [{ n } = { n: 0 }] = await database.db.select({ n: count() }).from(orgUnits);
  return n === 0 ? loadThailandOffices(database.db) : undefined;
}

export function describeLoad(result: LoadResult): string {
  return (
    `DLA, ${result.provinceOffices} provincial and ${result.districtOffices} district offices from ${DATA_PACKAGE} ` +
    `(${result.inserted} new, ${result.updated} updated, ${result.unchanged} unchanged)`
  );
}
