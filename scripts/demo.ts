// npm run demo — beside a running `npm start`, fills one real district with something to click
// through: a handful of LAOs under Udon Thani's Mueang district office, their staff and SSO admins,
// registrations waiting with evidence, an appointment letter waiting for the district's approval,
// and the demo INFO system (served by this process until Ctrl-C). Talks to the service over HTTP
// as the first DLA central admin, and adds nothing twice when run again.
//
// Admin credentials: DEMO_ADMIN_USERNAME (default `admin`) and DEMO_ADMIN_PASSWORD, else
// BOOTSTRAP_ADMIN_PASSWORD, else DATA_DIR/admin-password (kept there by `npm start` in embedded mode).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { withCheckDigit } from '../lib/citizen-id.ts';
import { loadConfig } from '../lib/config.ts';
import { startDemoInfoSystem, type DemoInfoSystem } from './support/demo-info-system.ts';
import { demoSurveyAnswers } from './demo-survey.ts';
import { demoPersonnelEvents } from './demo-personnel.ts';
import { demoCampaign } from './demo-campaigns.ts';
import { demoSignIn, otpauthUri, secretsInDataDir, secretsInMemory, type AuthenticatorSecrets } from './demo-sign-in.ts';

/** Udon Thani's Mueang district office, as `npm run org:load-thailand` names it. */
export const DEMO_DISTRICT = 'D4101';
/** Every demo account's password (the bootstrap admin keeps their own). */
export const DEMO_PASSWORD = 'udon-demo-2569';

const LAOS = [
  { code: 'DEMO-4101-01', kind: 'municipality', nameTh: 'เทศบาลเมืองหนองสำโรง (สาธิต)', nameEn: 'Nong Samrong Town Municipality (demo)' },
  { code: 'DEMO-4101-02', kind: 'municipality', nameTh: 'เทศบาลตำบลนาข่า (สาธิต)', nameEn: 'Na Kha Subdistrict Municipality (demo)' },
  { code: 'DEMO-4101-03', kind: 'sao', nameTh: 'องค์การบริหารส่วนตำบลหนองนาคำ (สาธิต)', nameEn: 'Nong Na Kham Subdistrict Administrative Organisation (demo)' },
  { code: 'DEMO-4101-04', kind: 'sao', nameTh: 'องค์การบริหารส่วนตำบลกุดสระ (สาธิต)', nameEn: 'Kut Sa Subdistrict Administrative Organisation (demo)' },
  {
    code: 'DEMO-4101-05',
    kind: 'sao',
    nameTh: 'องค์การบริหารส่วนตำบลนิคมสงเคราะห์ (สาธิต)',
    nameEn: 'Nikhom Songkhro Subdistrict Administrative Organisation (demo)',
  },
] as const;
const [NONG_SAMRONG, NA_KHA, NONG_NA_KHAM, KUT_SA, NIKHOM] = LAOS.map((l) => l.code) as [string, string, string, string, string];

interface Person {
  username: string;
  citizenId: string;
  firstNameTh: string;
  lastNameTh: string;
  position: string;
  unitCode: string;
  role: string;
  admin?: boolean;
  info?: 'viewer' | 'editor';
}
/** A fixed citizen ID per person (valid check digit), so that a second run finds them. */
const cid = (n: number) => withCheckDigit(`14101999${String(n).padStart(4, '0')}`);

const PEOPLE: Person[] = [
  {
    username: 'demo.district',
    citizenId: cid(1),
    firstNameTh: 'วิไลวรรณ',
    lastNameTh: 'ศรีอุดร',
    position: 'ท้องถิ่นอำเภอเมืองอุดรธานี',
    unitCode: DEMO_DISTRICT,
    role: 'SSO admin of the district office',
    admin: true,
    info: 'editor',
  },
  {
    username: 'demo.nakha',
    citizenId: cid(2),
    firstNameTh: 'ประเสริฐ',
    lastNameTh: 'บุญมา',
    position: 'นักวิชาการคอมพิวเตอร์',
    unitCode: NA_KHA,
    role: 'SSO admin of the LAO',
    admin: true,
    info: 'editor',
  },
  {
    username: 'demo.nongnakham',
    citizenId: cid(3),
    firstNameTh: 'สุนันทา',
    lastNameTh: 'แก้วมณี',
    position: 'ปลัดองค์การบริหารส่วนตำบล',
    unitCode: NONG_NA_KHAM,
    role: 'SSO admin of the LAO',
    admin: true,
    info: 'editor',
  },
  {
    username: 'demo.staff1',
    citizenId: cid(4),
    firstNameTh: 'อนุชา',
    lastNameTh: 'พรหมดี',
    position: 'เจ้าพนักงานธุรการ',
    unitCode: NA_KHA,
    role: 'staff (INFO viewer)',
    info: 'viewer',
  },
  {
    username: 'demo.staff2',
    citizenId: cid(5),
    firstNameTh: 'มาลี',
    lastNameTh: 'สุขใจ',
    position: 'นักจัดการงานทั่วไป',
    unitCode: NONG_SAMRONG,
    role: 'staff (INFO viewer)',
    info: 'viewer',
  },
  {
    username: 'demo.kutsa',
    citizenId: cid(6),
    firstNameTh: 'สมศักดิ์',
    lastNameTh: 'ทองดี',
    position: 'นักวิชาการคอมพิวเตอร์',
    unitCode: KUT_SA,
    role: 'staff; appointed SSO admin, awaiting the district',
  },
];
/** The person whose appointment letter waits for the district office's admins. */
const APPOINTEE = 'demo.kutsa';

const APPLICANTS = [
  {
    username: 'demo.applicant1',
    citizenId: cid(11),
    firstNameTh: 'ธนพล',
    lastNameTh: 'ใจงาม',
    position: 'นักวิเคราะห์นโยบายและแผน',
    unitCode: NA_KHA,
    access: 'viewer',
    files: ['pdf', 'png'],
  },
  {
    username: 'demo.applicant2',
    citizenId: cid(12),
    firstNameTh: 'กัญญา',
    lastNameTh: 'รุ่งเรือง',
    position: 'นักวิชาการเงินและบัญชี',
    unitCode: NA_KHA,
    access: 'editor',
    files: ['png'],
  },
  {
    username: 'demo.applicant3',
    citizenId: cid(13),
    firstNameTh: 'ชยพล',
    lastNameTh: 'มั่นคง',
    position: 'เจ้าพนักงานพัสดุ',
    unitCode: NONG_NA_KHAM,
    access: 'viewer',
    files: ['pdf'],
  },
  {
    username: 'demo.applicant4',
    citizenId: cid(14),
    firstNameTh: 'พิมพ์ชนก',
    lastNameTh: 'แสงทอง',
    position: 'นักทรัพยากรบุคคล',
    unitCode: NIKHOM,
    access: 'viewer',
    files: ['pdf'],
  },
] as const;

// --- Small valid evidence files, made here -------------------------------------------------------

/** A one-page PDF saying `lines` (ASCII), with a correct cross-reference table. */
export function makePdf(lines: string[]): Buffer {
  const text = lines.map((l, i) => `BT /F1 14 Tf 56 ${780 - i * 22} Td (${l.replace(/[\\()]/g, (c) => `\\${c}`)}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(text)} >>\nstream\n${text}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const at = Buffer.byteLength(out);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A small PNG (RGB, 160×100): a card-like picture standing in for a photographed document. */
export function makePng(seed = 0): Buffer {
  const width = 160,
    height = 100;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const border = x < 4 || y < 4 || x >= width - 4 || y >= height - 4;
      const stripe = y > 20 && y < 80 && y % 12 < 3 && x > 60 && x < 150;
      const photo = x > 12 && x < 52 && y > 20 && y < 80;
      const [r, g, b] = border ? [30, 60, 140] : stripe ? [90, 90, 90] : photo ? [180, 150 + seed * 20, 120] : [245, 242, 230];
      raw.set([r, g, b], y * (width * 3 + 1) + 1 + x * 3);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- Talking to the service -----------------------------------------------------------------------

interface Reply {
  status: number;
  body: any;
}

function client(baseUrl: string) {
  async function call(method: string, path: string, options: { token?: string; json?: unknown; form?: FormData } = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.form });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  }
  /** The call, which must answer one of `ok`. */
  async function must(ok: number[], method: string, path: string, options: Parameters<typeof call>[2] = {}): Promise<Reply> {
    const reply = await call(method, path, options);
    if (!ok.includes(reply.status)) {
      const detail = typeof reply.body === 'object' && reply.body ? (reply.body.detail ?? reply.body.title ?? JSON.stringify(reply.body)) : String(reply.body);
      throw new Error(`${method} ${path}: ${reply.status} ${detail}`);
    }
    return reply;
  }
  return { call, must };
}

export interface DemoOptions {
  baseUrl: string;
  adminUsername: string;
  adminPassword: string;
  /** Where this process serves the demo INFO system (0: any free port). */
  infoPort: number;
  /** Authenticator secrets of the admins it signs in as (ADMIN_MFA=required); kept in memory when not given. */
  authenticators?: AuthenticatorSecrets;
  /** A current code of the first admin's authenticator, when the demo does not know its secret. */
  adminOtp?: string;
}

export interface DemoResult {
  info: DemoInfoSystem;
  district: { code: string; nameTh: string };
  units: { code: string; nameTh: string; nameEn: string }[];
  people: { username: string; password: string; role: string; unitCode: string; created: boolean }[];
  registrations: { username: string; unitCode: string; id?: string; trackingCode?: string; submitted: boolean }[];
  appointment: { id?: string; submitted: boolean; note: string };
  /** The admins this run enrolled in a second factor (ADMIN_MFA=required), with their authenticator secrets. */
  authenticators: { username: string; secret: string }[];
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { call, must } = client(options.baseUrl);
  const authenticators = options.authenticators ?? secretsInMemory();
  const signIn = (username: string, password = DEMO_PASSWORD) => demoSignIn(options.baseUrl, username, password, authenticators);
  const adminToken = await demoSignIn(options.baseUrl, options.adminUsername, options.adminPassword, authenticators, options.adminOtp);
  if (!adminToken) {
    throw new Error(`cannot sign in as ${options.adminUsername}; set DEMO_ADMIN_USERNAME and DEMO_ADMIN_PASSWORD to a DLA central admin`);
  }
  const admin = adminToken;
  const district = await call('GET', `/api/v1/org-units/${DEMO_DISTRICT}`);
  if (district.status !== 200) throw new Error(`there is no unit ${DEMO_DISTRICT} (Udon Thani's Mueang district office): run npm run org:load-thailand first`);

  // The demo INFO system, served here, registered as INFO with two roles.
  const info = await startDemoInfoSystem(options.baseUrl, { port: options.infoPort });
  try {
    const system = await must([200], 'PUT', '/api/v1/systems/INFO', {
      token: admin,
      json: {
        nameTh: 'ระบบฐานข้อมูลกลางองค์กรปกครองส่วนท้องถิ่น (สาธิต)',
        nameEn: 'INFO, the central LAO database (demo)',
        url: info.url,
        roles: ['viewer', 'editor'],
        oidc: { redirectUris: [info.callbackUrl], backchannelLogoutUri: info.backchannelLogoutUrl, rotateSecret: true },
      },
    });
    await info.configure(system.body.clientId, system.body.clientSecret);

    await must([200], 'PUT', '/api/v1/org-units', { token: admin, json: LAOS.map((l) => ({ ...l, parentCode: DEMO_DISTRICT })) });

    // Accounts: made once, found again by citizen ID.
    const ids = new Map<string, string>();
    const people: DemoResult['people'] = [];
    for (const p of PEOPLE) {
      const created = await must([201, 409], 'POST', '/api/v1/accounts', {
        token: admin,
        json: {
          username: p.username,
          password: DEMO_PASSWORD,
          citizenId: p.citizenId,
          firstNameTh: p.firstNameTh,
          lastNameTh: p.lastNameTh,
          email: `${p.username}@demo.example`,
          unitCode: p.unitCode,
          position: p.position,
        },
      });
      let id = created.body?.id as string | undefined;
      if (created.status === 409) {
        const found = await must([200], 'GET', `/api/v1/accounts?citizenId=${p.citizenId}`, { token: admin });
        id = found.body.items[0]?.id;
        if (!id) throw new Error(`${p.username}: ${created.body?.detail ?? 'the username is taken by another account'}`);
      }
      ids.set(p.username, id!);
      people.push({ username: p.username, password: DEMO_PASSWORD, role: p.role, unitCode: p.unitCode, created: created.status === 201 });
      if (p.info) {
        const account = await must([200], 'GET', `/api/v1/accounts/${id}`, { token: admin });
        if (!(account.body.entitlements as { system: string }[]).some((e) => e.system === 'INFO')) {
          await must([200], 'PUT', `/api/v1/accounts/${id}/entitlements`, { token: admin, json: [{ system: 'INFO', role: p.info, unitCode: p.unitCode }] });
        }
      }
    }
    // SSO admins, added beside any the unit already has.
    for (const p of PEOPLE.filter((x) => x.admin)) {
      const unit = await must([200], 'GET', `/api/v1/org-units/${p.unitCode}`, { token: admin }); // its admins: for DLA central
      const current = (unit.body.admins as { accountId: string }[]).map((a) => a.accountId);
      if (!current.includes(ids.get(p.username)!)) {
        await must([200], 'PUT', `/api/v1/org-units/${p.unitCode}/admins`, {
          token: admin,
          json: [...current, ids.get(p.username)!].map((accountId) => ({ accountId })),
        });
      }
    }

    // Registrations waiting at the LAOs (the one at Nikhom Songkhro, which has no admin, waits at the district).
    const registrations: DemoResult['registrations'] = [];
    for (const [i, a] of APPLICANTS.entries()) {
      const form = new FormData();
      form.append(
        'data',
        JSON.stringify({
          citizenId: a.citizenId,
          firstNameTh: a.firstNameTh,
          lastNameTh: a.lastNameTh,
          email: `${a.username}@demo.example`,
          phone: '042000000',
          position: a.position,
          unitCode: a.unitCode,
          username: a.username,
          password: DEMO_PASSWORD,
          requestedAccess: [{ system: 'INFO', role: a.access }],
        }),
      );
      for (const kind of a.files) {
        const file =
          kind === 'pdf'
            ? new Blob(
                [
                  new Uint8Array(
                    makePdf(['Demo evidence document', `Applicant: ${a.username}`, `Unit: ${a.unitCode}`, 'Order of appointment to the position (demo)']),
                  ),
                ],
                { type: 'application/pdf' },
              )
            : new Blob([new Uint8Array(makePng(i))], { type: 'image/png' });
        form.append('documents', file, kind === 'pdf' ? 'appointment-order.pdf' : 'staff-card.png');
      }
      const submitted = await must([202, 409], 'POST', '/api/v1/registrations', { form });
      registrations.push({
        username: a.username,
        unitCode: a.unitCode,
        id: submitted.body?.id,
        trackingCode: submitted.body?.trackingCode,
        submitted: submitted.status === 202,
      });
    }

    // The appointee uploads their own appointment letter; the district office's admins approve it.
    let appointment: DemoResult['appointment'];
    const kutSa = await must([200], 'GET', `/api/v1/org-units/${KUT_SA}`, { token: admin });
    if ((kutSa.body.admins as unknown[]).length > 0) {
      appointment = { submitted: false, note: `${KUT_SA} has an SSO admin already` };
    } else {
      const appointeeToken = await signIn(APPOINTEE);
      if (!appointeeToken) throw new Error(`${APPOINTEE} cannot sign in`);
      const form = new FormData();
      form.append('data', JSON.stringify({ accountId: ids.get(APPOINTEE) }));
      form.append(
        'letter',
        new Blob([new Uint8Array(makePdf(['Letter of appointment (demo)', `Kut Sa SAO appoints ${APPOINTEE}`, 'as the SSO admin of the unit.']))], {
          type: 'application/pdf',
        }),
        'appointment-letter.pdf',
      );
      const sent = await must([202, 409], 'POST', `/api/v1/org-units/${KUT_SA}/admin-appointments`, { token: appointeeToken, form });
      appointment =
        sent.status === 202
          ? { id: sent.body.id, submitted: true, note: `waits for the admins of ${DEMO_DISTRICT}` }
          : { submitted: false, note: `a letter for ${APPOINTEE} already waits for the admins of ${DEMO_DISTRICT}` };
      await call('POST', '/api/v1/auth/logout', { token: appointeeToken });
    }
    await demoSurveyAnswers(options.baseUrl, (username) => signIn(username)); // the demo people answer the survey (scripts/demo-survey.ts)
    await demoPersonnelEvents(options.baseUrl, admin, PEOPLE); // HR events in every status, a person review waiting (scripts/demo-personnel.ts)
    const reviewer = await signIn('demo.nakha');
    if (!reviewer) throw new Error('demo.nakha cannot sign in');
    await demoCampaign(options.baseUrl, admin, DEMO_DISTRICT, reviewer, 'demo.staff1'); // an access review campaign in progress (scripts/demo-campaigns.ts)
    await call('POST', '/api/v1/auth/logout', { token: admin });
    return {
      info,
      district: { code: DEMO_DISTRICT, nameTh: district.body.nameTh },
      units: [...LAOS],
      people,
      registrations,
      appointment,
      authenticators: [...authenticators.enrolled].map(([username, secret]) => ({ username, secret })),
    };
  } catch (error) {
    await info.close();
    throw error;
  }
}

/** The bootstrap admin's password: the environment, else the file `npm start` keeps in embedded mode. */
function adminPassword(dataDir: string): string {
  const fromEnv = process.env.DEMO_ADMIN_PASSWORD ?? process.env.BOOTSTRAP_ADMIN_PASSWORD;
  if (fromEnv) return fromEnv;
  const file = join(dataDir, 'admin-password');
  if (!existsSync(file)) throw new Error(`no admin password: set DEMO_ADMIN_PASSWORD (there is no ${file})`);
  return readFileSync(file, 'utf8').trim();
}

/** Columns on a terminal: Thai vowel and tone marks above or below a letter take no width. */
const width = (s: string) => [...s.replace(/[\u0E31\u0E34-\u0E3A\u0E47-\u0E4E]/g, '')].length;
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => width(r[c] ?? ''))));
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, c) => cell + ' '.repeat(widths[c]! - width(cell)))
          .join('  ')
          .trimEnd()}`,
    )
    .join('\n');
}

if (import.meta.main) {
  const config = loadConfig();
  const baseUrl = config.publicUrl;
  const adminUsername = process.env.DEMO_ADMIN_USERNAME ?? 'admin';
  try {
    const password = adminPassword(config.dataDir);
    const result = await runDemo({
      baseUrl,
      adminUsername,
      adminPassword: password,
      infoPort: Number(process.env.DEMO_INFO_PORT ?? 4000),
      authenticators: secretsInDataDir(config.dataDir),
      adminOtp: process.env.DEMO_ADMIN_OTP,
    });
    const unitName = new Map<string, string>([[DEMO_DISTRICT, result.district.nameTh], ...result.units.map((u) => [u.code, u.nameTh] as [string, string])]);
    const console_ =
      (await fetch(`${baseUrl}/admin`)
        .then((r) => r.status)
        .catch(() => 404)) !== 404;
    console.log(
      [
        `Demo data in ${DEMO_DISTRICT} (Udon Thani, Mueang district) and ${result.units.length} LAOs under it: ` +
          `${result.people.filter((p) => p.created).length} accounts and ${result.registrations.filter((r) => r.submitted).length} registrations added now.`,
        '',
        'Sign in as',
        table([
          ['username', 'password', 'role', 'unit'],
          [adminUsername, password, 'DLA central admin', 'DLA'],
          ...result.people.map((p) => [p.username, p.password, p.role, `${p.unitCode} ${unitName.get(p.unitCode) ?? ''}`]),
        ]),
        ...(result.authenticators.length > 0
          ? [
              '',
              `Second factor: these admins were enrolled now; add each to an authenticator app (the secrets are kept in ${join(config.dataDir, 'demo-authenticators.json')})`,
              table([['username', 'secret', 'otpauth URI'], ...result.authenticators.map((a) => [a.username, a.secret, otpauthUri(a.username, a.secret)])]),
              '  Other admins enrol on their first sign-in to the console.',
            ]
          : []),
        '',
        'Waiting',
        table([
          ['what', 'unit', 'follow it'],
          ...result.registrations.map((r) => [
            `registration of ${r.username}`,
            `${r.unitCode} ${unitName.get(r.unitCode) ?? ''}`,
            r.submitted ? `${baseUrl}/track/${r.id}   tracking code ${r.trackingCode}` : 'submitted by an earlier run',
          ]),
          [`appointment of ${APPOINTEE} as SSO admin`, `${KUT_SA} ${unitName.get(KUT_SA)}`, result.appointment.note],
        ]),
        `  (applicants sign in with password ${DEMO_PASSWORD} once approved)`,
        '',
        'Open',
        `  Portal and sign-in   ${baseUrl}/`,
        ...(console_ ? [`  Admins' console      ${baseUrl}/admin`] : []),
        `  API docs             ${baseUrl}/docs`,
        `  INFO (demo system)   ${result.info.url}   (runs while this command runs; Ctrl-C stops it)`,
        `  Mail                 ${config.smtpUrl ? `SMTP ${new URL(config.smtpUrl).host}` : `.eml files in ${join(config.dataDir, 'outbox')}`}`,
      ].join('\n'),
    );
    const stop = async () => {
      await result.info.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    if (process.argv.includes('--exit')) await stop();
  } catch (error) {
    console.error(`npm run demo: ${(error as Error).message}`);
    process.exit(1);
  }
}
