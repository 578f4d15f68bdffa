// Compliance digests: each unit with admins is told which units it covers (the nearest staffed unit
// above them is theirs) have no SSO admin. One mail per admin per run, whatever the number of units.
import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { accounts, orgUnits, unitAdmins } from '../db/schema.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

export function createComplianceActivities({ db, config, mail }: ActivityDeps) {
  return {
    async mailUnitsWithoutAdmin(): Promise<{ units: number; mails: number }> {
      const run = Context.current().info.workflowExecution?.workflowId ?? Context.current().info.activityId;
      const units = await db.select({ code: orgUnits.code, parentCode: orgUnits.parentCode, kind: orgUnits.kind, nameTh: orgUnits.nameTh }).from(orgUnits);
      const admins = await db.select({ unitCode: unitAdmins.unitCode, accountId: accounts.id, email: accounts.email })
        .from(unitAdmins).innerJoin(accounts, eq(accounts.id, unitAdmins.accountId)).where(eq(accounts.status, 'active'));
      const centrals = await db.select({ accountId: accounts.id, email: accounts.email }).from(accounts).where(eq(accounts.centralAdmin, true));
      const staffed = new Set(admins.map((a) => a.unitCode));
      const byCode = new Map(units.map((u) => [u.code, u]));
      // The unit covering each unit without an admin: the nearest staffed unit above it, else the root.
      const covering = new Map<string, typeof units>();
      let gaps = 0;
      for (const unit of units) {
        if (staffed.has(unit.code)) continue;
        gaps++;
        const parentOf = (u: (typeof units)[number]) => (u.parentCode ? byCode.get(u.parentCode) : undefined);
        let cover = parentOf(unit);
        let top = unit;
        for (let depth = 0; cover && !staffed.has(cover.code) && depth < 32; depth++) {
          top = cover;
          cover = parentOf(cover);
        }
        const key = cover?.code ?? top.code; // nobody staffed above: the root, i.e. DLA central
        covering.set(key, [...(covering.get(key) ?? []), unit]);
      }
      let mails = 0;
      for (const [coverCode, uncovered] of covering) {
        const cover = byCode.get(coverCode);
        const recipients = admins.filter((a) => a.unitCode === coverCode).map((a) => ({ id: a.accountId, email: a.email }));
        if (!cover?.parentCode) for (const c of centrals) if (!recipients.some((r) => r.id === c.accountId)) recipients.push({ id: c.accountId, email: c.email });
        const rendered = renderMail('compliance-units-without-admin', {
          unitNameTh: cover?.nameTh ?? coverCode, count: uncovered.length, units: uncovered.slice(0, 200),
          more: Math.max(0, uncovered.length - 200), link: `${config.publicUrl}/api/v1/compliance/units-without-admin?under=${coverCode}`,
        });
        for (const r of recipients) {
          const key = `compliance:${run}:${coverCode}:${r.id}`;
          await enqueueMail(db, { key, template: 'compliance-units-without-admin', to: r.email, rendered });
          if ((await deliverQueued(db, mail, config.mailFrom, key)) === 'sent') mails++;
          Context.current().heartbeat();
        }
      }
      return { units: gaps, mails };
    },
  };
}

export type ComplianceActivities = ReturnType<typeof createComplianceActivities>;
