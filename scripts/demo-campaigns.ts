// npm run demo, the access review part: a campaign in progress over the demo district, started by DLA
// central (14 days, what nobody decides is suspended), so that the console's page of campaigns
// (/admin/campaigns) shows its progress per unit and the reviewers find their items:
// - demo.nakha (Na Kha's SSO admin) has kept the right of demo.staff1 already;
// - demo.district (the district office's admin) reviews what is left: Nong Samrong's staff (no admin
//   there) and the LAO admins' own rights, which go to the unit above.
// Run again, a campaign of the same name still running is found (in the audit trail) and left as it is.

const NAME = 'ทบทวนสิทธิ์ครึ่งปี อ.เมืองอุดรธานี (สาธิต)';

interface Answer {
  status: number;
  body: any; // the API's JSON, read field by field
}

export async function demoCampaign(
  baseUrl: string,
  token: string,
  districtCode: string,
  reviewerToken: string,
  kept: string,
): Promise<{ id: string; started: boolean }> {
  const call = async (method: string, path: string, options: { token?: string; json?: unknown } = {}): Promise<Answer> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const must = async (ok: number[], method: string, path: string, options: { token?: string; json?: unknown } = {}) => {
    const answer = await call(method, path, options);
    if (!ok.includes(answer.status)) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  };

  // A campaign of this name still running over the district: the one of an earlier run.
  let cursor: string | null = null;
  for (let page = 0; page < 5; page++) {
    const events: Answer = await must([200], 'GET', `/api/v1/audit?unitCode=${districtCode}&limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token });
    const started = (events.body.items as { action: string; subjectId: string; unitCode: string; after: { name?: string } | null }[]).find(
      (e) => e.action === 'review.started' && e.unitCode === districtCode && e.after?.name === NAME,
    );
    if (started) {
      const review = await must([200], 'GET', `/api/v1/access-reviews/${started.subjectId}`, { token });
      if (review.body.status === 'running') return { id: started.subjectId, started: false };
      break;
    }
    cursor = events.body.nextCursor;
    if (!cursor) break;
  }

  const started = await must([202], 'POST', '/api/v1/access-reviews', {
    token,
    json: { name: NAME, scopeUnitCode: districtCode, durationDays: 14, onNoDecision: 'suspend' },
  });
  const id = started.body.id as string;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const review = await must([200], 'GET', `/api/v1/access-reviews/${id}`, { token });
    if (review.body.totals.items > 0) break;
  }
  // One reviewer has begun: a right kept.
  const items = await must([200], 'GET', `/api/v1/access-reviews/${id}/items?decided=false`, { token: reviewerToken });
  const item = (items.body.items as { id: string; username: string }[]).find((i) => i.username === kept);
  if (item)
    await must([200], 'POST', `/api/v1/access-reviews/${id}/decisions`, {
      token: reviewerToken,
      json: { decisions: [{ itemId: item.id, decision: 'keep' }] },
    });
  await call('POST', '/api/v1/auth/logout', { token: reviewerToken });
  return { id, started: true };
}
