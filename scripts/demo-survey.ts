// npm run demo, the survey's part: the demo people answer the satisfaction survey of the current
// round through the API, each with their own scores and some with a comment, so that the console's
// results page (/admin/survey) has charts, a ranking of the district's LAOs and comments to show.
// Run again, nobody answers twice (the API answers 409, which counts as done).

/** Scores (registration, approval, sign_in, systems, overall) and a comment, by demo username. */
const ANSWERS: Record<string, { scores: [number, number, number, number, number]; comment?: string }> = {
  'demo.district': { scores: [4, 3, 5, 4, 4], comment: 'อนุมัติคำขอได้จากโทรศัพท์ สะดวกมาก' },
  'demo.nakha': { scores: [5, 4, 5, 5, 5], comment: 'ลงชื่อเข้าใช้ด้วย ThaiID ง่ายกว่าเดิม' },
  'demo.nongnakham': { scores: [3, 2, 4, 3, 3], comment: 'รอการอนุมัตินานเกินไป / approval took too long' },
  'demo.staff1': { scores: [4, 4, 5, 4, 4] },
  'demo.staff2': { scores: [2, 3, 3, 2, 2], comment: 'อัปโหลดเอกสารจากมือถือไม่สะดวก' },
  'demo.kutsa': { scores: [5, 5, 4, 4, 4] },
};

/** Each demo person who can sign in answers once; returns how many answered now and how many had already. */
export async function demoSurveyAnswers(
  baseUrl: string,
  tokenOf: (username: string) => Promise<string | null>,
): Promise<{ answered: number; already: number }> {
  let answered = 0;
  let already = 0;
  for (const [username, answer] of Object.entries(ANSWERS)) {
    const token = await tokenOf(username);
    if (!token) continue; // not made by this run (e.g. suspended since): nothing to answer
    const [registration, approval, signIn, systems, overall] = answer.scores;
    const sent = await fetch(`${baseUrl}/api/v1/survey-responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scores: { registration, approval, sign_in: signIn, systems, overall }, ...(answer.comment ? { comment: answer.comment } : {}) }),
    });
    if (sent.status === 201) answered++;
    else if (sent.status === 409) already++;
    else throw new Error(`POST /api/v1/survey-responses as ${username}: ${sent.status} ${await sent.text()}`);
    await fetch(`${baseUrl}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  }
  return { answered, already };
}
