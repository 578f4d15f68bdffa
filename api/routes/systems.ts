// The catalogue of connected systems (ระบบที่เชื่อมโยง) and the roles each one knows: services/systems.ts.
import type { FastifyInstance } from 'fastify';
import { putSystem, systemCatalogue, type SystemInput } from '../../services/systems.ts';
import { problem } from '../responses.ts';
import { answer, nullableText, systemCode, text } from '../schemas.ts';

const httpUrl = { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2000 } as const;

const oidcClient = answer({
  clientId: text,
  redirectUris: { type: 'array', items: text },
  postLogoutRedirectUris: { type: 'array', items: text },
  backchannelLogoutUri: nullableText,
  public: { type: 'boolean' },
});
/** A system as DLA central sees it; others see its code, names and roles only. */
const systemView = {
  type: 'object',
  required: ['code', 'nameTh', 'nameEn', 'roles'],
  properties: { code: text, nameTh: text, nameEn: nullableText, url: text, roles: { type: 'array', items: text }, oidc: oidcClient },
} as const;

export default async function systemRoutes(app: FastifyInstance) {
  app.put<{ Params: { code: string }; Body: SystemInput }>(
    '/systems/:code',
    {
      config: { scope: 'central' },
      preValidation: [app.requireCentralAdmin, app.requireRecentSecondFactor],
      schema: {
        tags: ['systems'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { code: systemCode } },
        body: {
          type: 'object',
          required: ['nameTh', 'url', 'roles'],
          additionalProperties: false,
          properties: {
            nameTh: { type: 'string', minLength: 1, maxLength: 200 },
            nameEn: { type: ['string', 'null'], maxLength: 200 },
            url: httpUrl,
            roles: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              uniqueItems: true,
              items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' },
            },
            oidc: {
              type: ['object', 'null'],
              required: ['redirectUris'],
              additionalProperties: false,
              description: 'The system as an OpenID Connect client of the single sign-on. Omit to keep it as it is; null removes it.',
              properties: {
                redirectUris: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: httpUrl },
                postLogoutRedirectUris: { type: 'array', maxItems: 20, uniqueItems: true, items: httpUrl },
                backchannelLogoutUri: { anyOf: [httpUrl, { type: 'null' }] },
                public: { type: 'boolean', description: 'A client without a secret (a browser or mobile app): PKCE is required.' },
                rotateSecret: { type: 'boolean', description: 'Issue a new client secret (shown once in the response).' },
              },
            },
          },
        },
        response: {
          200: {
            ...systemView,
            required: [...systemView.required, 'url'],
            properties: {
              ...systemView.properties,
              clientId: text,
              clientSecret: { type: 'string', description: 'Shown once: on creation and on rotateSecret.' },
            },
          },
          409: problem('The OIDC client cannot be changed so.'),
        },
      },
    },
    async (request) => putSystem(app.deps, request.account!, request.params.code, request.body),
  );

  // A catalogue of tens of systems: one page, in the list shape every list has.
  app.get(
    '/systems',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['systems'],
        description: "Every connected system's code, names and roles; DLA central admins also see its url and its OIDC client (redirect and logout URLs).",
        response: { 200: answer({ items: { type: 'array', items: systemView }, nextCursor: { type: 'null' } }) },
      },
    },
    async (request) => ({ items: await systemCatalogue(app.deps, request.account), nextCursor: null }),
  );
}
