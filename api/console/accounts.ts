// Console pages of accounts: search within the admin's units (name, username, citizen ID), one
// account with everything known about it, and what the admin does there — suspend, reactivate,
// grant or remove a right (confirmed first), correct the e-mail or names, send a password-reset link,
// unlock an account locked by failed sign-ins, reset a lost second factor. The same services as the API.
import type { FastifyInstance } from 'fastify';
import { ACCOUNT_STATUSES, type AccountStatus } from '../../db/schema.ts';
import { accountDossier, changeRight, correctAccountDetails, findAccounts, reactivateAccount, suspendAccount, unlockAccount } from '../../services/accounts.ts';
import { sendPasswordResetLink } from '../../services/passwords.ts';
import { resetSecondFactor } from '../../services/second-factor-reset.ts';
import { listSystems } from '../../services/systems.ts';
import { page, type Scope } from '../scope.ts';
import { secondFactorConfirmed } from '../recent-second-factor.ts';

const PAGE = 50;

const STATUS_NAMES: Record<string, string> = {
  active: 'ใช้งาน / active',
  suspended: 'ระงับ / suspended',
  disabled: 'ปิดใช้งาน / disabled',
  revoked: 'เพิกถอน / revoked',
  pending_review: 'รอทบทวน / pending review',
};

const ACTION_NAMES: Record<string, string> = {
  'account.created': 'สร้างบัญชี / created',
  'account.suspended': 'ระงับ / suspended',
  'account.reactivated': 'เปิดใช้งานอีกครั้ง / reactivated',
  'account.entitlements_set': 'กำหนดสิทธิ์ / rights set',
  'account.right_granted': 'ให้สิทธิ์ / right granted',
  'account.right_removed': 'ถอนสิทธิ์ / right removed',
  'account.details_corrected': 'แก้ไขข้อมูล / details corrected',
  'account.locked': 'ล็อกชั่วคราว (รหัสผ่านผิดหลายครั้ง) / locked (failed sign-ins)',
  'account.unlocked': 'ปลดล็อก / unlocked',
  'account.password_reset_sent': 'ส่งลิงก์ตั้งรหัสผ่านใหม่ / password-reset link sent',
  'account.password_reset': 'ตั้งรหัสผ่านใหม่จากลิงก์ / password reset',
  'account.password_changed': 'เปลี่ยนรหัสผ่าน / password changed',
  'account.mfa_enrolled': 'ตั้งค่าการยืนยันตัวตนสองขั้นตอน / second factor set up',
  'account.mfa_reset': 'รีเซ็ตการยืนยันตัวตนสองขั้นตอน / second factor reset',
  'account.mfa_removed': 'ยกเลิกแอปยืนยันตัวตนเดิมเพื่อตั้งค่าใหม่ / authenticator replaced',
  'account.mfa_recovery_codes_renewed': 'ออกรหัสกู้คืนชุดใหม่ / new recovery codes',
};

const METHOD_NAMES: Record<string, string> = { password: 'รหัสผ่าน / password', thaiid: 'ThaiID' };

const DONE: Record<string, string> = {
  suspended: 'ระงับบัญชีแล้ว การเข้าสู่ระบบทั้งหมดสิ้นสุดลง / The account is suspended; every sign-in ended.',
  reactivated: 'เปิดใช้งานบัญชีแล้ว / The account is active again.',
  granted: 'ให้สิทธิ์แล้ว / The right was granted.',
  removed: "ถอนสิทธิ์แล้ว การเข้าสู่ระบบทั้งหมดสิ้นสุดลง / The right was removed; the person's sign-ins ended.",
  corrected: 'แก้ไขข้อมูลแล้ว / The details were corrected.',
  unchanged: 'ไม่มีอะไรเปลี่ยน / Nothing changed.',
  'reset-sent': 'ส่งลิงก์ตั้งรหัสผ่านใหม่ไปยังอีเมลของบัญชีแล้ว / A password-reset link was mailed to the account’s address.',
  unlocked: 'ปลดล็อกแล้ว เข้าสู่ระบบด้วยรหัสผ่านได้อีกครั้ง / Unlocked: password sign-in works again.',
  'not-locked': 'บัญชีไม่ได้ถูกล็อก / The account was not locked.',
  'mfa-reset':
    'รีเซ็ตการยืนยันตัวตนสองขั้นตอนแล้ว การเข้าสู่ระบบทั้งหมดสิ้นสุดลง และแจ้งทางอีเมลแล้ว / The second factor was reset; every sign-in of the person ended and they were mailed.',
  'no-mfa': 'บัญชีนี้ไม่ได้ตั้งค่าการยืนยันตัวตนสองขั้นตอน / The account had no second factor.',
};

const text = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 2000) : '');
const optional = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 300) : undefined);
const accountPath = (id: string) => `/admin/accounts/${encodeURIComponent(id)}`;

/** `SYSTEM:role` from the grant form's select. */
function readRight(body: Record<string, unknown>) {
  const [system = '', role = ''] = text(body.right).split(':');
  return { system, role, unitCode: text(body.unitCode) };
}

export default async function accountPages(app: FastifyInstance) {
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });

  app.get<{ Querystring: { q?: string; status?: string; after?: string } }>('/accounts', page('admin'), async (request, reply) => {
    const q = text(request.query.q).slice(0, 100);
    const status = ACCOUNT_STATUSES.includes(request.query.status as AccountStatus) ? (request.query.status as AccountStatus) : undefined;
    const after = text(request.query.after).slice(0, 100) || undefined;
    try {
      const rows = await findAccounts(app.deps, request.admin!, { text: q || undefined, status, afterUsername: after, limit: PAGE });
      const items = rows.slice(0, PAGE).map((a) => ({ ...a, statusName: STATUS_NAMES[a.status] ?? a.status }));
      const query = (extra: Record<string, string>) =>
        `/admin/accounts?${new URLSearchParams({ ...(q ? { q } : {}), ...(status ? { status } : {}), ...extra })}`;
      return reply.consolePage(200, 'admin-account-list', {
        title: 'บัญชีผู้ใช้ / Accounts',
        q,
        items,
        searched: Boolean(q || status || after),
        statuses: ACCOUNT_STATUSES.map((s) => ({ value: s, name: STATUS_NAMES[s], selected: s === status })),
        next: rows.length > PAGE ? query({ after: items[items.length - 1]!.username }) : null,
        first: after ? query({}) : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/accounts');
    }
  });

  app.get<{ Params: { id: string }; Querystring: { done?: string } }>('/accounts/:id', page('unit-admin'), async (request, reply) => {
    try {
      const account = await accountDossier(app.deps, request.admin!, request.params.id);
      const catalogue = account.mayChange ? await listSystems(app.deps) : [];
      return reply.consolePage(200, 'admin-account', {
        // The username (one unbreakable word) is in the details below: in the heading it would overflow a phone.
        title: `บัญชี / Account: ${account.firstNameTh} ${account.lastNameTh}`,
        ...account,
        statusName: STATUS_NAMES[account.status] ?? account.status,
        active: account.status === 'active',
        locked: account.lockedUntil !== null,
        rights: account.entitlements.filter((e) => e.status !== 'revoked').map((e) => ({ ...e, statusName: STATUS_NAMES[e.status] ?? e.status })),
        history: account.history.map((e) => ({ ...e, actionName: ACTION_NAMES[e.action] ?? e.action })),
        signIns: account.signIns.map((s) => ({ ...s, methodName: METHOD_NAMES[s.method] ?? s.method })),
        offered: catalogue.flatMap((s) => s.roles.map((role) => ({ value: `${s.code}:${role}`, label: `${s.nameTh} (${s.code}) · ${role}` }))),
        done: request.query.done && Object.hasOwn(DONE, request.query.done) ? DONE[request.query.done] : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/accounts');
    }
  });

  app.post<{ Params: { id: string }; Body: { reason?: string; confirm?: string } }>(
    '/accounts/:id/suspend',
    plainForm('unit-admin'),
    async (request, reply) => {
      const back = accountPath(request.params.id);
      if (request.body?.confirm !== 'yes') {
        return reply.consoleNotConfirmed(back, 'ทำเครื่องหมายยืนยันการระงับก่อน / Tick the box to confirm the suspension.');
      }
      try {
        await suspendAccount(app.deps, request.admin!, request.params.id, { reason: text(request.body?.reason) });
        return reply.redirect(`${back}?done=suspended`, 303);
      } catch (error) {
        return reply.consoleProblem(error, back);
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/accounts/:id/reactivate', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    try {
      await reactivateAccount(app.deps, request.admin!, request.params.id, { reason: text(request.body?.reason) });
      return reply.redirect(`${back}?done=reactivated`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  // A right is granted or removed in two steps: this page says what will happen, the next applies it.
  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/accounts/:id/rights/review', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    const body = request.body ?? {};
    const right = readRight(body);
    const change = body.change === 'remove' ? 'remove' : 'grant';
    try {
      const account = await accountDossier(app.deps, request.admin!, request.params.id);
      return reply.consolePage(200, 'admin-account-confirm', {
        title: change === 'grant' ? 'ยืนยันการให้สิทธิ์ / Confirm the grant' : 'ยืนยันการถอนสิทธิ์ / Confirm the removal',
        account,
        right,
        change,
        grant: change === 'grant',
        reason: text(body.reason),
        back,
      });
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/accounts/:id/rights', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    const body = request.body ?? {};
    const change = body.change === 'remove' ? 'remove' : 'grant';
    try {
      const result = await changeRight(app.deps, request.admin!, request.params.id, { ...readRight(body), change, reason: text(body.reason) });
      return reply.redirect(`${back}?done=${result.changed ? (change === 'grant' ? 'granted' : 'removed') : 'unchanged'}`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/accounts/:id/details', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    const body = request.body ?? {};
    try {
      const result = await correctAccountDetails(app.deps, request.admin!, request.params.id, {
        email: optional(body.email),
        firstNameTh: optional(body.firstNameTh),
        lastNameTh: optional(body.lastNameTh),
        firstNameEn: optional(body.firstNameEn),
        lastNameEn: optional(body.lastNameEn),
        reason: text(body.reason),
      });
      return reply.redirect(`${back}?done=${result.changed.length > 0 ? 'corrected' : 'unchanged'}`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/accounts/:id/password-reset', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    try {
      await sendPasswordResetLink(app.deps, request.admin!, request.params.id, { reason: text(request.body?.reason) }, request.log);
      return reply.redirect(`${back}?done=reset-sent`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/accounts/:id/unlock', plainForm('unit-admin'), async (request, reply) => {
    const back = accountPath(request.params.id);
    try {
      const result = await unlockAccount(app.deps, request.admin!, request.params.id, { reason: text(request.body?.reason) });
      return reply.redirect(`${back}?done=${result.changed ? 'unlocked' : 'not-locked'}`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  // A lost second factor: removed with a reason, after the admin shows their own again (then the form once more).
  app.post<{ Params: { id: string }; Body: { reason?: string; confirm?: string } }>(
    '/accounts/:id/mfa-reset',
    plainForm('unit-admin'),
    async (request, reply) => {
      const back = accountPath(request.params.id);
      if (request.body?.confirm !== 'yes') {
        return reply.consoleNotConfirmed(back, 'ทำเครื่องหมายยืนยันการรีเซ็ตก่อน / Tick the box to confirm the reset.');
      }
      if (!(await secondFactorConfirmed(app, request, reply, back))) return reply;
      try {
        const result = await resetSecondFactor(app.deps, request.admin!, request.params.id, { reason: text(request.body?.reason) }, request.log);
        return reply.redirect(`${back}?done=${result.changed ? 'mfa-reset' : 'no-mfa'}`, 303);
      } catch (error) {
        return reply.consoleProblem(error, back);
      }
    },
  );
}
