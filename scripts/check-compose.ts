// No Docker engine runs here, so CI checks what it can of docker-compose.yml: it parses, its
// anchors resolve, every service has an image or a build, dependencies name real services, and
// the Dockerfile copies folders that exist.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; depends_on?: string[] | Record<string, unknown>; environment?: Record<string, string> }>;
};
const problems: string[] = [];
const services = compose.services ?? {};
for (const required of ['postgres', 'temporal', 'temporal-ui', 'mailpit', 'api', 'worker']) {
  if (!services[required]) problems.push(`service ${required} is missing`);
}
for (const [name, service] of Object.entries(services)) {
  if (!service.image && !service.build) problems.push(`${name}: neither image nor build`);
  const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
  for (const dep of deps) if (!services[dep]) problems.push(`${name}: depends on unknown service ${dep}`);
}
for (const name of ['api', 'worker']) {
  const env = services[name]?.environment ?? {};
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'ENCRYPTION_KEY', 'SSO_SIGNING_KEYS']) {
    if (!env[key]) problems.push(`${name}: ${key} is not set`);
  }
}
for (const line of readFileSync(join(root, 'Dockerfile'), 'utf8').split('\n')) {
  const copy = /^COPY\s+(\S+)\s+/.exec(line);
  if (copy) for (const src of copy[1]!.split(' ')) if (!existsSync(join(root, src))) problems.push(`Dockerfile copies ${src}, which does not exist`);
}
if (problems.length > 0) {
  console.error(problems.map((p) => `docker-compose: ${p}`).join('\n'));
  process.exit(1);
}
console.log(`docker-compose.yml: ${Object.keys(services).length} services, consistent`);
