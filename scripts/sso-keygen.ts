// Prints a JWKS for SSO_SIGNING_KEYS: a new signing key first, then the keys already configured
// (the newest two), so that tokens signed before the rotation still verify. Rotate by running it
// with the current SSO_SIGNING_KEYS in the environment and deploying its output to every process.
//   SSO_SIGNING_KEYS="$(npm run -s sso:keygen)"
import type { JWK } from 'jose';
import { generateSigningKey } from '../lib/sso/keys.ts';

const current = process.env.SSO_SIGNING_KEYS ? (JSON.parse(process.env.SSO_SIGNING_KEYS) as { keys: JWK[] }).keys : [];
console.log(JSON.stringify({ keys: [await generateSigningKey(), ...current.slice(0, 2)] }));
