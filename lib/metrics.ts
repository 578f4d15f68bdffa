// Prometheus metrics: every name in one place (ops/grafana-dashboard.json reads them). Each
// process keeps its own registry: the API's (requests, and what waits, read from PostgreSQL at
// scrape time) and the worker's (its state, and the Temporal SDK's own metrics appended).
import { sql } from 'drizzle-orm';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { rowsOf, type Db } from '../db/client.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The names, prefixed `sso_`; Temporal's own keep theirs (`temporal_…`). */
export const METRIC = {
  httpRequests: 'sso_http_requests_total',
  httpDuration: 'sso_http_request_duration_seconds',
  registrations: 'sso_registrations',
  appointments: 'sso_appointments',
  reviewItems: 'sso_access_review_items_undecided',
  oldestWaiting: 'sso_oldest_waiting_seconds',
  personnelEvents: 'sso_personnel_events',
  personnelOverdue: 'sso_personnel_event_overdue_seconds',
  personnelLag: 'sso_personnel_event_apply_lag_seconds',
  mailOutboxDepth: 'sso_mail_outbox_depth',
  mailOutboxOldest: 'sso_mail_outbox_oldest_seconds',
  logoutBacklog: 'sso_backchannel_logout_backlog',
  logoutOldest: 'sso_backchannel_logout_oldest_seconds',
  scrapeErrors: 'sso_metrics_scrape_errors_total',
  workerState: 'sso_worker_state',
} as const;

export interface ApiMetrics {
  /** One answered request: its route pattern (not the URL: ids would make a label per request). */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** The exposition text, with what waits read from the database now. */
  render(): Promise<string>;
}

interface StateRow {
  kind: string;
  state: string;
  n: number;
  oldest: number | null;
}

/**
 * What waits, in one round trip: counts by state, and the age of the oldest in each waiting state.
 * Ages are seconds; a personnel event takes effect at 00:00 Asia/Bangkok of its date.
 */
async function readState(db: Db): Promise<StateRow[]> {
  const result = await db.execute(sql`
    select 'registration' as kind, status as state, count(*)::int as n,
           extract(epoch from now() - min(submitted_at))::float as oldest
      from registrations group by status
    union all
    select 'appointment', status, count(*)::int, extract(epoch from now() - min(submitted_at))::float
      from admin_appointments group by status
    union all
    select 'review_item', r.kind, count(*)::int, extract(epoch from now() - min(r.created_at))::float
      from access_review_items i join access_reviews r on r.id = i.review_id
     where i.decision is null and r.status = 'running' group by r.kind
    union all
    select 'personnel_event', status, count(*)::int, null
      from personnel_events group by status
    union all
    select 'personnel_overdue', 'scheduled', count(*)::int,
           extract(epoch from now() - min((effective_date::date)::timestamp at time zone 'Asia/Bangkok'))::float
      from personnel_events
     where status = 'scheduled' and (effective_date::date)::timestamp at time zone 'Asia/Bangkok' <= now()
    union all
    select 'personnel_lag', 'applied', count(*)::int,
           max(extract(epoch from applied_at - greatest(received_at, (effective_date::date)::timestamp at time zone 'Asia/Bangkok')))::float
      from personnel_events where status = 'applied' and applied_at > now() - interval '1 hour'
    union all
    select 'mail_outbox', 'unsent', count(*)::int, extract(epoch from now() - min(created_at))::float
      from mail_outbox where sent_at is null
    union all
    select 'logout_outbox', 'unsent', count(*)::int, extract(epoch from now() - min(created_at))::float
      from sso_logout_outbox where sent_at is null`);
  return rowsOf<StateRow>(result).map((r) => ({ ...r, n: Number(r.n), oldest: r.oldest === null ? null : Number(r.oldest) }));
}

/** Statuses in which a request waits for someone (their oldest age is reported). */
const WAITING: Record<string, string[]> = {
  registration: ['pending_approval', 'info_requested'],
  appointment: ['pending_approval'],
  review_item: ['person', 'campaign'],
};

export function createApiMetrics(db: Db): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: METRIC.httpRequests,
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC.httpDuration,
    help: 'Time to answer HTTP requests, by route pattern and method',
    labelNames: ['route', 'method'],
    registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const registrations = gauge(METRIC.registrations, 'Registration requests by status', ['status']);
  const appointments = gauge(METRIC.appointments, 'SSO admin appointments by status', ['status']);
  const reviewItems = gauge(METRIC.reviewItems, 'Undecided items of running access reviews, by kind of review', ['kind']);
  const oldestWaiting = gauge(METRIC.oldestWaiting, 'Age of the oldest request waiting for a decision, by kind and state', ['kind', 'state']);
  const personnelEvents = gauge(METRIC.personnelEvents, 'Personnel events by status', ['status']);
  const personnelOverdue = gauge(METRIC.personnelOverdue, 'How long the oldest scheduled personnel event has been past its effective time');
  const personnelLag = gauge(
    METRIC.personnelLag,
    "Longest delay, over the last hour, from a personnel event's effective time (or its receipt) to its application",
  );
  const outboxDepth = gauge(METRIC.mailOutboxDepth, 'Mails written to the outbox and not yet sent');
  const outboxOldest = gauge(METRIC.mailOutboxOldest, 'Age of the oldest unsent mail');
  const logoutBacklog = gauge(METRIC.logoutBacklog, 'Back-channel logouts not yet delivered to a connected system');
  const logoutOldest = gauge(METRIC.logoutOldest, 'Age of the oldest undelivered back-channel logout');
  const scrapeErrors = new Counter({
    name: METRIC.scrapeErrors,
    help: 'Scrapes whose database reading failed (the gauges keep their last values)',
    registers: [registry],
  });

  return {
    observeRequest(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
    async render() {
      try {
        const rows = await readState(db);
        for (const g of [registrations, appointments, reviewItems, oldestWaiting, personnelEvents]) g.reset();
        let [overdue, lag, outbox, outboxAge, logouts, logoutAge] = [0, 0, 0, 0, 0, 0];
        for (const row of rows) {
          if (row.kind === 'registration') registrations.set({ status: row.state }, row.n);
          else if (row.kind === 'appointment') appointments.set({ status: row.state }, row.n);
          else if (row.kind === 'review_item') reviewItems.set({ kind: row.state }, row.n);
          else if (row.kind === 'personnel_event') personnelEvents.set({ status: row.state }, row.n);
          else if (row.kind === 'personnel_overdue') overdue = row.oldest ?? 0;
          else if (row.kind === 'personnel_lag') lag = row.oldest ?? 0;
          else if (row.kind === 'mail_outbox') [outbox, outboxAge] = [row.n, row.oldest ?? 0];
          else if (row.kind === 'logout_outbox') [logouts, logoutAge] = [row.n, row.oldest ?? 0];
          if (WAITING[row.kind]?.includes(row.state) && row.oldest !== null) oldestWaiting.set({ kind: row.kind, state: row.state }, row.oldest);
        }
        personnelOverdue.set(overdue);
        personnelLag.set(lag);
        outboxDepth.set(outbox);
        outboxOldest.set(outboxAge);
        logoutBacklog.set(logouts);
        logoutOldest.set(logoutAge);
      } catch {
        scrapeErrors.inc();
      }
      return registry.metrics();
    },
  };
}

export type WorkerState = 'INITIALIZED' | 'RUNNING' | 'STOPPED' | 'STOPPING' | 'DRAINING' | 'DRAINED' | 'FAILED';
const WORKER_STATES: WorkerState[] = ['INITIALIZED', 'RUNNING', 'STOPPING', 'DRAINING', 'DRAINED', 'STOPPED', 'FAILED'];

export interface WorkerMetrics {
  /** The exposition text: the process, its worker's state, and the Temporal SDK's metrics when `sdkMetricsUrl` answers. */
  render(): Promise<string>;
}

export function createWorkerMetrics(state: () => WorkerState, sdkMetricsUrl?: string): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: METRIC.workerState,
    help: "The Temporal worker's state (1 for the current one)",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const now = state();
      for (const s of WORKER_STATES) this.set({ state: s }, s === now ? 1 : 0);
    },
  });
  return {
    async render() {
      const own = await registry.metrics();
      if (!sdkMetricsUrl) return own;
      // The SDK's core exports on its own loopback port; one scrape of the worker reads both.
      const sdk = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2000) }).then(
        (r) => (r.ok ? r.text() : ''),
        () => '',
      );
      return `${own}\n${sdk}`;
    },
  };
}
