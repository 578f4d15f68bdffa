// Figures side by side per unit: each unit below a view's top counted toward one "row" unit (the
// children of a province, the 76 provinces under DLA), in one recursive query over the tree's parent
// index, so a count over the whole country stays one set-based statement.
import { sql, type SQL } from 'drizzle-orm';

/**
 * What a page compares: the children of `under` (and `under` itself, for what sits at that unit),
 * or, for a view without one top, the given `units` and everything below each.
 */
export type RowView = { under: string } | { units: string[] };

/** `(select code, row_code …)`: every unit in the view with the row unit it counts toward. Join it on `code`. */
export function unitRowsSql(view: RowView): SQL {
  const seed =
    'under' in view
      ? sql`select code, code, 0 from org_units where parent_code = ${view.under}`
      : view.units.length === 0
        ? sql`select code, code, 0 from org_units where false`
        : sql`select code, code, 0 from org_units where code in (${sql.join(
            view.units.map((c) => sql`${c}`),
            sql`, `,
          )})`;
  const self = 'under' in view ? sql` union all select ${view.under}::text, ${view.under}::text` : sql``;
  return sql`(
    with recursive sub(code, row_code, depth) as (
      ${seed}
      union all
      select u.code, s.row_code, s.depth + 1 from org_units u join sub s on u.parent_code = s.code where s.depth < 32
    ) select code, row_code from sub${self})`;
}
