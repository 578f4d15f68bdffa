// A browser's sign-in without a browser: the sign-in form with its CSRF token and cookies, for the
// matrices that ask hundreds of pages who may see them.
export interface FormSession {
  /** GET or POST a page with this session's cookies; a POST form gets a fresh `_csrf` from `csrfFrom`. */
  fetch(path: string, init?: { method?: string; form?: Record<string, string>; multipart?: boolean }): Promise<Response>;
}

function cookiesOf(res: Response, jar: Map<string, string>) {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair!.indexOf('=');
    jar.set(pair!.slice(0, at), pair!.slice(at + 1));
  }
}

const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

export async function formSession(baseUrl: string, account: { username: string; password: string }, csrfFrom = '/'): Promise<FormSession> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const get = async (path: string) => {
    const res = await fetch(baseUrl + path, { headers: { cookie: cookie() }, redirect: 'manual' });
    cookiesOf(res, jar);
    return res;
  };
  const login = await get('/login');
  const signIn = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrfIn(await login.text()), username: account.username, password: account.password }),
  });
  cookiesOf(signIn, jar);
  if (signIn.status !== 303) throw new Error(`sign-in of ${account.username}: ${signIn.status}`);
  return {
    async fetch(path, init = {}) {
      if (!init.method || init.method === 'GET') return get(path);
      const csrf = csrfIn(await (await get(csrfFrom)).text());
      const fields = { _csrf: csrf, ...init.form };
      const multipart = new FormData();
      for (const [k, v] of Object.entries(fields)) multipart.append(k, v);
      const res = await fetch(
        baseUrl + path,
        init.multipart
          ? { method: init.method, redirect: 'manual', headers: { cookie: cookie() }, body: multipart }
          : {
              method: init.method,
              redirect: 'manual',
              headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(fields),
            },
      );
      cookiesOf(res, jar);
      return res;
    },
  };
}
