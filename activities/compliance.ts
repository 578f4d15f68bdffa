// Compliance digests: each unit with admins is told which units it covers (db/org-tree.ts `adminGaps`:
// the unit acting above each) have no SSO admin. One mail per admin per run, whatever the number of units.
import { Context } from '@temporalio/activity';
import { inArray } from 'drizzle-orm';
import { activeAdminsOf, adminGaps, type AdminGap } from '../db/org-tree.ts';
import { orgUnits } from '../db/schema.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

export function createComplianceActivities({ db, config, mail }: ActivityDeps) {
  return {
    async mailUnitsWithoutAdmin(): Promise<{ units: number; mails: number }> {
      const run = Context.current().info.workflowExecution?.workflowId ?? Context.current().info.activityId;
      const gaps = await adminGaps(db);
      // A root without an admin covers itself: DLA central hears of it.
      const covering = new Map<string, AdminGap[]>();
      for (const gap of gaps) {
        const cover = gap.coveredBy ?? gap.code;
        covering.set(cover, [...(covering.get(cover) ?? []), gap]);
      }
      const covers =
        covering.size === 0
          ? []
          : await db
              .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode })
              .from(orgUnits)
              .where(inArray(orgUnits.code, [...covering.keys()]));
      let mails = 0;
      for (const cover of covers) {
        const uncovered = covering.get(cover.code)!;
        const rendered = renderMail('compliance-units-without-admin', {
          unitNameTh: cover.nameTh,
          count: uncovered.length,
          units: uncovered.slice(0, 200),
          more: Math.max(0, uncovered.length - 200),
          link: `${config.publicUrl}/admin/compliance?under=${encodeURIComponent(cover.code)}`,
        });
        for (const r of await activeAdminsOf(db, cover.code, !cover.parentCode)) {
          const key = `compliance:${run}:${cover.code}:${r.id}`;
          await enqueueMail(db, { key, template: 'compliance-units-without-admin', to: r.email, rendered });
          if ((await deliverQueued(db, mail, config.mailFrom, key)) === 'sent') mails++;
          Context.current().heartbeat();
        }
      }
      return { units: gaps.length, mails };
    },
  };
}

export type ComplianceActivities = ReturnType<typeof createComplianceActivities>;
