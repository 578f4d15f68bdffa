// Who may call a route, declared beside it as `config: { scope }`. The services decide it (they take the
// Actor and check it against the tree); the declaration names which of these rules applies, and the
// authorisation matrix (test/integration/authorisation.test.ts) checks every route's behaviour against it.
// The subject is what the route is about: an account, a request, an appointment, a review, a unit.
export const SCOPES = {
  public: 'anyone, signed in or not',
  credentials: 'anyone: what the request carries decides (a password, a one-time code or link, a sign-in under way)',
  'signed-in': 'any signed-in person, about themselves',
  applicant: "the applicant, with the request's tracking code",
  'applicant-or-unit-admin': "the applicant with the tracking code, or an SSO admin of the request's unit or a unit above it",
  'self-or-unit-admin': "the person themselves, or an SSO admin of the subject's unit or a unit above it",
  'unit-member-or-admin-above': 'an account of the unit, or an SSO admin of the unit or a unit above it',
  'unit-admin': "an SSO admin of the subject's unit or a unit above it (DLA central: everywhere)",
  admin: 'any SSO admin; the answer covers only the units they administer',
  approver: "the SSO admins the subject awaits: those of the unit above the subject's unit, or further up",
  'campaign-runner': "DLA central, or a provincial office's SSO admins within their province",
  central: 'DLA central admins only',
  'hr-feed': "the HR feed's signature, or an SSO admin for people of the units they administer",
  operator: 'loopback and the networks the configuration allows',
} as const;

export type Scope = keyof typeof SCOPES;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route (api/scope.ts); every route of ours declares it. */
    scope?: Scope;
  }
}

/** A page's route options: who may open it, and out of the API's documentation. */
export const page = (scope: Scope) => ({ config: { scope }, schema: { hide: true } });
