// Pure logic: where a sign-in may send the browser back to (never another site).
import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../api/plugins/browser-session.ts';

describe('the return address after sign-in', () => {
  it('keeps a path on this site, with its query and fragment', () => {
    expect(safeReturnPath('/')).toBe('/');
    expect(safeReturnPath('/track/1?x=1#top')).toBe('/track/1?x=1#top');
  });

  it('refuses every way of naming another site', () => {
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      'javascript:alert(1)',
      'evil.example',
      '',
      undefined,
      42,
      ['/'],
      '/%0a/evil',
      '/\u007f/evil',
    ]) {
      const kept = safeReturnPath(bad);
      expect(new URL(kept, 'https://sso.test').origin, String(bad)).toBe('https://sso.test');
      expect(kept.startsWith('//'), String(bad)).toBe(false);
    }
    expect(safeReturnPath('/\t/evil.example')).toBe('/');
  });
});
