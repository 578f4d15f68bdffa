// npm run demo, the personnel part: HR events of the demo district reported through the API's admin
// path (DLA central's token; the demo has no HR feed), so that the console's page of personnel changes
// (/admin/personnel) shows each status and a person review waits for the district office:
// - a resignation dated last week of demo.leaver (made here): applied at once, the account suspended;
// - a change of duties of demo.staff2 today: applied, its right pending review by the district's admins
//   (Nong Samrong has no SSO admin of its own);
// - a transfer of demo.staff1 to Nong Na Kham in 45 days: scheduled;
// - a retirement of demo.kutsa on 1 October, then corrected to a year later: the first superseded.
// Run again, the same event ids are duplicates and change nothing.
import { withCheckDigit } from '../lib/citizen-id.ts';

interface DemoPerson {
  username: string;
  citizenId: string;
  unitCode: string;
}

const LEAVER = {
  username: 'demo.leaver',
  citizenId: withCheckDigit('141019990091'),
  firstNameTh: 'สุริยา',
  lastNameTh: 'มั่นคง',
  position: 'เจ้าพนักงานพัสดุ',
};

/** A day in Asia/Bangkok, `days` from today, as the feed takes it (Christian Era). */
const bangkokDay = (days: number) => new Date(Date.now() + 7 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);

/** The next 1 October (the fiscal year's first day, when retirements take effect), `years` after. */
function firstOfOctober(years: number): string {
  const today = bangkokDay(0);
  const year = Number(today.slice(0, 4)) + (today.slice(5) >= '10-01' ? 1 : 0) + years;
  return `${year}-10-01`;
}

/** Sends the demo's HR events as DLA central (`token`); returns how many were new and how many sent before. */
export async function demoPersonnelEvents(baseUrl: string, token: string, people: DemoPerson[]): Promise<{ accepted: number; duplicates: number }> {
  const call = async (method: string, path: string, json: unknown) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(json),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
  const person = (username: string) => {
    const p = people.find((x) => x.username === username);
    if (!p) throw new Error(`demo-personnel: no demo person ${username}`);
    return p;
  };
  const staff1 = person('demo.staff1');
  const staff2 = person('demo.staff2');
  const kutsa = person('demo.kutsa');
  const nongNaKham = person('demo.nongnakham').unitCode;

  // The leaver: one more staff member with a right, at Nong Samrong (made once; a second run finds it).
  const created = await call('POST', '/api/v1/accounts', {
    ...LEAVER,
    password: `leaver-${LEAVER.citizenId}`,
    email: `${LEAVER.username}@demo.example`,
    unitCode: staff2.unitCode,
  });
  if (created.status === 201) {
    const granted = await call('PUT', `/api/v1/accounts/${created.body.id}/entitlements`, [{ system: 'INFO', role: 'viewer', unitCode: staff2.unitCode }]);
    if (granted.status !== 200) throw new Error(`PUT entitlements (${LEAVER.username}): ${granted.status} ${granted.body?.detail ?? ''}`);
  } else if (created.status !== 409) {
    throw new Error(`POST /api/v1/accounts (${LEAVER.username}): ${created.status} ${created.body?.detail ?? ''}`);
  }

  const batches = [
    [
      { eventId: 'demo-hr-resign-leaver', type: 'resignation', citizenId: LEAVER.citizenId, effectiveDate: bangkokDay(-7), note: 'คำสั่งให้ลาออก (สาธิต)' },
      {
        eventId: 'demo-hr-duties-staff2',
        type: 'role_change',
        citizenId: staff2.citizenId,
        effectiveDate: bangkokDay(0),
        newPosition: 'นักวิชาการคอมพิวเตอร์',
        note: 'เปลี่ยนหน้าที่ (สาธิต)',
      },
      { eventId: 'demo-hr-transfer-staff1', type: 'transfer', citizenId: staff1.citizenId, effectiveDate: bangkokDay(45), toUnitCode: nongNaKham },
      { eventId: 'demo-hr-retire-kutsa', type: 'retirement', citizenId: kutsa.citizenId, effectiveDate: firstOfOctober(0) },
    ],
    // Sent after the first retirement: a newer event of the same person and type replaces it before its date.
    [{ eventId: 'demo-hr-retire-kutsa-corrected', type: 'retirement', citizenId: kutsa.citizenId, effectiveDate: firstOfOctober(1), note: 'แก้ไขวันเกษียณ' }],
  ];
  let accepted = 0;
  let duplicates = 0;
  for (const events of batches) {
    const sent = await call('POST', '/api/v1/personnel-events', { events });
    if (sent.status !== 202 || sent.body.rejected.length > 0)
      throw new Error(`POST /api/v1/personnel-events: ${sent.status} ${JSON.stringify(sent.body?.rejected ?? sent.body?.detail ?? '')}`);
    accepted += sent.body.accepted;
    duplicates += sent.body.duplicates;
  }
  return { accepted, duplicates };
}
