// Which units a results page compares, for the survey and the rollout dashboard: the children of the
// unit asked for (which the admin must administer, or lie below one they do), else of the admin's own
// unit; DLA central without a unit asked sees the root(s). Every admin sees their own subtree only.
import { asc, eq, inArray, isNull } from 'drizzle-orm';
import { mayActFor, unitChain } from '../db/org-tree.ts';
import { orgUnits } from '../db/schema.ts';
import type { RowView } from '../db/unit-rows.ts';
import { forbidden, notFound } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';

export interface ViewRow {
  code: string;
  nameTh: string;
  kind: string;
  /** The view's top unit itself (what sits at it, not below it). */
  self: boolean;
}

export interface UnitView {
  /** The unit whose children are compared; null when the view is several units side by side. */
  unit: { code: string; nameTh: string; kind: string; parentCode: string | null } | null;
  view: RowView;
  rows: ViewRow[];
  /** The way up, when the admin may look there too (DLA central, or an admin above). */
  up: string | null;
}

/** Row units of a view are at most a unit's children (76 provinces, ~30 districts or LAOs). */
const MAX_ROWS = 2_000;

export async function resolveUnitView(deps: Pick<ServiceDeps, 'db'>, actor: Actor, under: string | undefined): Promise<UnitView> {
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  const unitColumns = { code: orgUnits.code, nameTh: orgUnits.nameTh, kind: orgUnits.kind, parentCode: orgUnits.parentCode };
  let top: string | undefined = under;
  if (!top) {
    const tops = actor.central
      ? (await deps.db.select({ code: orgUnits.code }).from(orgUnits).where(isNull(orgUnits.parentCode))).map((u) => u.code)
      : await outermost(deps, actor.adminUnits);
    if (tops.length === 1) top = tops[0];
    else {
      const units = await deps.db.select(unitColumns).from(orgUnits).where(inArray(orgUnits.code, tops)).orderBy(asc(orgUnits.code)).limit(MAX_ROWS);
      return { unit: null, view: { units: units.map((u) => u.code) }, rows: units.map((u) => ({ ...u, self: false })), up: null };
    }
  }
  const [unit] = await deps.db.select(unitColumns).from(orgUnits).where(eq(orgUnits.code, top!));
  if (!unit) throw notFound(`There is no unit ${top}.`);
  if (!(await mayActFor(deps.db, actor, unit.code))) throw forbidden(`You do not administer ${unit.code} or a unit above it.`);
  const children = await deps.db.select(unitColumns).from(orgUnits).where(eq(orgUnits.parentCode, unit.code)).orderBy(asc(orgUnits.code)).limit(MAX_ROWS);
  const up = unit.parentCode && (await mayActFor(deps.db, actor, unit.parentCode)) ? unit.parentCode : null;
  return {
    unit,
    view: { under: unit.code },
    rows: [{ ...unit, self: true }, ...children.map((c) => ({ ...c, self: false }))],
    up,
  };
}

/** The admin's units without those below another of them (an admin of a district and of one of its LAOs sees the district). */
async function outermost(deps: Pick<ServiceDeps, 'db'>, codes: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const code of codes) {
    const above = (await unitChain(deps.db, code)).slice(1);
    if (!above.some((c) => codes.includes(c))) out.push(code);
  }
  return out.sort();
}

/** A unit's name short enough for a chart's label: the long office titles cut to จ./อ. and the place. */
export function shortUnitName(nameTh: string): string {
  return nameTh
    .replace(/^สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด/, 'จ.')
    .replace(/^สำนักงานส่งเสริมการปกครองท้องถิ่นอำเภอ/, 'อ.')
    .replace(/^องค์การบริหารส่วนตำบล/, 'อบต.')
    .replace(/^เทศบาลตำบล/, 'ทต.')
    .replace(/^เทศบาลเมือง/, 'ทม.')
    .replace(/^เทศบาลนคร/, 'ทน.');
}
