// One list of what never reaches the logs, the same for every process.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.ts';

describe('logs', () => {
  it('are JSON lines without citizen IDs, passwords, tokens, secrets or the secret-carrying headers', () => {
    const lines: string[] = [];
    const log = createLogger('info', 'test', {
      write: (line: string) => {
        lines.push(line);
      },
    });
    const secrets = ['1101700230705', 'pass-word-1', 'tok-123', 'shh-secret', 'Bearer abc', 'sid=cookie', 'sig-9f8e7d', 'trk-5b6c', 'api-key-1'];
    log.info({ citizenId: secrets[0], account: { password: secrets[1], token: secrets[2] }, secret: secrets[3], username: 'somchai' }, 'an event');
    log.info(
      {
        req: {
          headers: {
            authorization: secrets[4],
            cookie: secrets[5],
            'x-hr-signature': secrets[6],
            'x-tracking-code': secrets[7],
            'x-imauth-apikey': secrets[8],
          },
        },
      },
      'a request',
    );
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ name: 'test', msg: 'an event', username: 'somchai', citizenId: '[Redacted]' });
    for (const secret of secrets) expect(lines.join('\n')).not.toContain(secret);
  });
});
