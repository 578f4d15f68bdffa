// Operations: what Prometheus reads from the API and from a worker process, and the worker's health.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailOutbox } from '../../db/schema.ts';
import { METRIC } from '../../lib/metrics.ts';
import { freePort } from '../../lib/net.ts';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../support/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { worker: false });
});
afterAll(async () => {
  await h?.stop();
});

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe("the API's /metrics", () => {
  it('counts requests by route pattern and status, times them, and reads what waits from the database', async () => {
    const key = `operations-test-${randomUUID()}`;
    await h.resources.database.db.insert(mailOutbox).values({
      key,
      template: 'test',
      toAddress: 'nobody@example.test',
      subject: 's',
      textBody: 't',
      htmlBody: 'h',
      createdAt: new Date(Date.now() - 3_600_000),
    });
    try {
      expect((await h.request('GET', '/health/live')).status).toBe(200);
      expect((await h.request('GET', `/api/v1/registrations/${randomUUID()}`, { token: h.central.token })).status).toBe(404);
      const res = await fetch(`${h.baseUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(sample(text, METRIC.httpRequests, '{route="/health/live",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
      // The pattern, not the URL: one series whatever the id.
      expect(sample(text, METRIC.httpRequests, '{route="/api/v1/registrations/:id",method="GET",status="404"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, `${METRIC.httpDuration}_count`, '{route="/health/live",method="GET"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, METRIC.mailOutboxDepth)).toBeGreaterThanOrEqual(1);
      expect(sample(text, METRIC.mailOutboxOldest)).toBeGreaterThanOrEqual(3500);
      for (const name of [METRIC.logoutBacklog, METRIC.personnelOverdue, METRIC.personnelLag]) expect(sample(text, name), name).toBeGreaterThanOrEqual(0);
      expect(text).toContain(`# TYPE ${METRIC.registrations} gauge`);
      expect(sample(text, METRIC.scrapeErrors)).toBe(0);
    } finally {
      await h.resources.database.db.delete(mailOutbox).where(eq(mailOutbox.key, key));
    }
  });
});

describe('a worker process', () => {
  let worker: ChildProcess | undefined;
  afterAll(() => {
    worker?.kill('SIGKILL');
  });

  it("answers live, then ready once it polls its task queue, and its metrics with the Temporal SDK's; it logs JSON", async () => {
    const port = await freePort();
    worker = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'worker.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: h.config.databaseUrl,
        TEMPORAL_ADDRESS: h.config.temporalAddress,
        TEMPORAL_TASK_QUEUE: h.config.taskQueue,
        SMTP_URL: h.mail.url,
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        SSO_SIGNING_KEYS: h.config.sso.signingKeys,
        DATA_DIR: h.config.dataDir,
        PUBLIC_URL: h.config.publicUrl,
        LOG_LEVEL: 'info',
        WORKER_HTTP_PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    const base = `http://127.0.0.1:${port}`;
    const get = (path: string) =>
      fetch(base + path).then(
        async (r) => ({ status: r.status, text: await r.text() }),
        () => null,
      );

    const deadline = Date.now() + 120_000;
    let ready = await get('/health/ready');
    while (ready?.status !== 200 && Date.now() < deadline) {
      await delay(250);
      ready = await get('/health/ready');
    }
    expect(ready?.status, ready?.text).toBe(200);
    expect(JSON.parse(ready!.text)).toMatchObject({ status: 'ready', worker: 'RUNNING', workflowPoller: 'POLLING' });
    expect((await get('/health/live'))?.status).toBe(200);

    const metrics = await get('/metrics');
    expect(metrics?.status).toBe(200);
    expect(sample(metrics!.text, METRIC.workerState, '{state="RUNNING"}')).toBe(1);
    expect(metrics!.text).toMatch(/^temporal_\w+/m); // the SDK's own worker metrics
    expect((await get('/nothing'))?.status).toBe(404);

    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Its logs are JSON lines, one logger for the process and one for the Temporal SDK.
    const lines = stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { name: string; msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['worker polling its task queue', 'worker stopped']));
    expect(lines.every((l) => l.name === 'worker' || l.name === 'temporal')).toBe(true);
  });
});
