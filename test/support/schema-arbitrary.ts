// fast-check arbitraries from the JSON Schemas of an OpenAPI 3.1 document: values a schema accepts
// (the keywords this API's schemas use), and values that break it. The one maintained bridge on npm
// (json-schema-fast-check) is built on fast-check 1, so the mapping lives here, kept to those keywords.
import fc, { type Arbitrary } from 'fast-check';

export type Schema = Record<string, any>;

/** Values drawn from the run's own data for fields of these names (ids that exist, units of its tree). */
export type Pools = Partial<Record<string, readonly unknown[]>>;

const MAX_ITEMS = 4;

function resolve(schema: Schema, doc: Schema): Schema {
  let s = schema;
  while (s && typeof s.$ref === 'string') {
    const ref: string = s.$ref;
    if (!ref.startsWith('#/')) throw new Error(`unresolved $ref ${ref}`);
    s = ref
      .slice(2)
      .split('/')
      .reduce((at: any, part) => at?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return s;
}

function stringOf(s: Schema): Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, Math.max(min, 40));
  const fits = (v: string) => v.length >= min && v.length <= (s.maxLength ?? Infinity);
  switch (s.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress().filter(fits);
    case 'date':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2040-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2040-12-31'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'uri':
      return fc.webUrl().filter((u) => fits(u) && (!s.pattern || new RegExp(s.pattern, 'u').test(u)));
  }
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern, 'u'), { size: 'small' }).filter(fits);
  return fc.string({
    minLength: min,
    maxLength: max,
    unit: fc.oneof(fc.constantFrom('ก', 'a', ' ', '1'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  });
}

/** Values that `schema` accepts (or nearly: a pattern with lookarounds may miss now and then). */
export function validOf(schema: Schema, doc: Schema, pools: Pools = {}, name?: string): Arbitrary<unknown> {
  const s = resolve(schema, doc);
  if (!s || Object.keys(s).length === 0) return fc.jsonValue({ maxDepth: 2 });
  if (name && pools[name]?.length) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pools[name]!) }, { weight: 1, arbitrary: validOf(s, doc) });
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((a: Schema) => validOf(a, doc, pools, name)));
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((type: string) => validOf({ ...s, type }, doc, pools, name)));
  switch (s.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 100_000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 100_000, noNaN: true });
    case 'string':
      return stringOf(s);
    case 'array': {
      const items = s.items ? validOf(s.items, doc, pools) : fc.jsonValue({ maxDepth: 1 });
      const min = s.minItems ?? 0;
      const max = Math.max(min, Math.min(s.maxItems ?? MAX_ITEMS, MAX_ITEMS));
      return s.uniqueItems
        ? fc.uniqueArray(items, { minLength: min, maxLength: max, selector: (v) => JSON.stringify(v) })
        : fc.array(items, { minLength: min, maxLength: max });
    }
    case 'object':
    case undefined: {
      const properties: Record<string, Schema> = s.properties ?? {};
      if (Object.keys(properties).length === 0 && s.type === undefined) return fc.jsonValue({ maxDepth: 2 });
      const record = fc.record(Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, validOf(sub, doc, pools, key)])), {
        requiredKeys: (s.required ?? []).filter((k: string) => k in properties),
      });
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        return fc
          .tuple(record, fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), validOf(s.additionalProperties, doc), { maxKeys: 3 }))
          .map(([r, extra]) => ({ ...extra, ...r }));
      }
      return record;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Anything JSON, and strings meant to trouble a parser or a query (empty, huge, NUL, SQL, paths). */
export const anyJson: Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('', ' ', '\u0000', "'; drop table accounts; --", '../../etc/passwd', '%00', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'x'.repeat(5000), -1, 0, 1e308, true, null, [], {}),
);

/** A value of the shape, with one part of it broken (a field of the wrong kind, one too many, one missing). */
export function invalidOf(schema: Schema, doc: Schema, pools: Pools = {}): Arbitrary<unknown> {
  const s = resolve(schema, doc);
  return fc.oneof(
    anyJson,
    fc.tuple(validOf(s, doc, pools), fc.string({ maxLength: 10 }), anyJson, fc.nat()).map(([value, key, junk, pick]) => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const keys = Object.keys(value);
        const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
        if (keys.length > 0 && pick % 3 !== 0) {
          const k = keys[pick % keys.length]!;
          if (pick % 3 === 1) copy[k] = junk;
          else delete copy[k];
        } else copy[key || 'unexpected'] = junk;
        return copy;
      }
      if (Array.isArray(value)) return [...value, junk];
      return junk;
    }),
  );
}
