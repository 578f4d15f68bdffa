// Console pages of person reviews: after a transfer or a change of duties, the rights that wait for
// the admin's units, each kept or revoked by a plain form. The same services as the JSON API.
import type { FastifyInstance } from 'fastify';
import { decideReviewItems, listPersonReviews, reviewToDecide } from '../../services/access-reviews.ts';
import { page, type Scope } from '../scope.ts';

const PAGE = 50;

const DONE: Record<string, string> = { keep: 'คงสิทธิ์แล้ว / Kept', revoke: 'เพิกถอนสิทธิ์แล้ว / Revoked' };
const STATUS_NAMES: Record<string, string> = { running: 'รอทบทวน / in review', completed: 'เสร็จสิ้น / completed', cancelled: 'ยกเลิก / cancelled' };

/** A keyset position in the list, as the `after` of the next page's link. */
const encodeAfter = (last: { dueAt: Date; id: string }) => Buffer.from(JSON.stringify({ dueAt: last.dueAt.toISOString(), id: last.id })).toString('base64url');
function decodeAfter(value: unknown): { dueAt: string; id: string } | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { dueAt?: unknown; id?: unknown };
    return typeof parsed.dueAt === 'string' && typeof parsed.id === 'string' && !Number.isNaN(Date.parse(parsed.dueAt))
      ? { dueAt: parsed.dueAt, id: parsed.id }
      : undefined;
  } catch {
    return undefined;
  }
}

export default async function reviewPages(app: FastifyInstance) {
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });

  app.get<{ Querystring: { after?: string } }>('/reviews', page('admin'), async (request, reply) => {
    const after = decodeAfter(request.query.after);
    try {
      const rows = await listPersonReviews(app.deps, request.admin!, { limit: PAGE, after });
      const items = rows.slice(0, PAGE);
      return reply.consolePage(200, 'admin-reviews-list', {
        title: 'การทบทวนสิทธิ์ที่รอ / Person reviews waiting',
        items,
        next: rows.length > PAGE ? `/admin/reviews?after=${encodeAfter(items[items.length - 1]!)}` : null,
        first: after ? '/admin/reviews' : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin');
    }
  });

  app.get<{ Params: { id: string }; Querystring: { done?: string } }>('/reviews/:id', page('unit-admin'), async (request, reply) => {
    try {
      const { review, subject, items } = await reviewToDecide(app.deps, request.admin!, request.params.id);
      const open = review.status === 'running' && new Date(review.dueAt).getTime() > Date.now();
      return reply.consolePage(200, 'admin-reviews-review', {
        title: `ทบทวนสิทธิ์ / Review: ${subject ? subject.name : review.name}`,
        review,
        subject,
        statusName: STATUS_NAMES[review.status] ?? review.status,
        running: review.status === 'running',
        items: items.map((i) => ({ ...i, open: open && i.decision === null && !i.autoApplied && i.accountId !== request.admin!.id })),
        done: request.query.done && Object.hasOwn(DONE, request.query.done) ? DONE[request.query.done] : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/reviews');
    }
  });

  app.post<{ Params: { id: string; itemId: string }; Body: { decision?: string; justification?: string; confirm?: string } }>(
    '/reviews/:id/items/:itemId',
    plainForm('unit-admin'),
    async (request, reply) => {
      const back = `/admin/reviews/${encodeURIComponent(request.params.id)}`;
      try {
        const { decision, justification, confirm } = request.body ?? {};
        const revoke = decision === 'revoke';
        if (revoke && confirm !== 'yes') {
          return reply.consoleNotConfirmed(back, 'ทำเครื่องหมายยืนยันการเพิกถอนก่อน / Tick the box to confirm the revocation.');
        }
        const result = await decideReviewItems(
          app.deps,
          request.admin!,
          request.params.id,
          [
            {
              itemId: request.params.itemId,
              decision: revoke ? 'revoke' : 'keep',
              justification: typeof justification === 'string' && justification.trim() ? justification.slice(0, 2000) : undefined,
            },
          ],
          request.log,
        );
        const refused = result.rejected[0];
        if (refused) {
          return reply.consolePage(400, 'message', {
            title: 'ทำรายการไม่ได้ / Not done',
            error: true,
            back,
            message: `บันทึกไม่ได้ / Not recorded: ${refused.reason}.`,
          });
        }
        return reply.redirect(`${back}?done=${revoke ? 'revoke' : 'keep'}`, 303);
      } catch (error) {
        return reply.consoleProblem(error, back);
      }
    },
  );
}
