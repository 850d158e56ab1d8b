// The bounds the API declares on what it accepts, read from its OpenAPI document (client/openapi.json,
// generated from the server's code), so that a form's hints and `maxLength`s cannot drift from the server's.
// They are hints only: the server checks every request again and stays the authority.
//
// Every bound the forms use is read once, here, when the module loads: a schema or property that is not in
// the document (renamed on the server, say) throws at import time, so a test that imports any form fails
// loudly rather than the form silently losing its hint.
import document from '../../openapi.json';

/** The JSON Schema keywords a form can use as a hint. */
export interface Bounds {
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
}

type Schemas = typeof document.components.schemas;
/** A schema of the document's `components.schemas`. */
export type SchemaName = keyof Schemas;
/** A property of that schema (only schemas with `properties` have any). */
export type PropertyName<S extends SchemaName> = Schemas[S] extends { properties: infer P } ? keyof P & string : never;

const KEYWORDS = ['minLength', 'maxLength', 'minimum', 'maximum', 'pattern', 'minItems', 'maxItems'] as const;

/** The bounds the document declares on `schema.property` (an empty object if it declares none). Throws if either is missing. */
export function limit<S extends SchemaName>(schema: S, property: PropertyName<S>): Bounds {
  const schemas = document.components.schemas as Record<string, { properties?: Record<string, Record<string, unknown>> }>;
  const s = schemas[schema];
  if (!s) throw new Error(`openapi.json has no schema ${schema}`);
  const p = s.properties?.[property];
  if (!p) throw new Error(`openapi.json has no property ${schema}.${property}`);
  const out: Bounds = {};
  for (const k of KEYWORDS) {
    const v = p[k];
    if (v === undefined) continue;
    if (k === 'pattern' ? typeof v !== 'string' : typeof v !== 'number') {
      throw new Error(`openapi.json: ${schema}.${property}.${k} is not a ${k === 'pattern' ? 'string' : 'number'}`);
    }
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** One bound that must be there (the form relies on it); throws if the document does not declare it. */
function must<S extends SchemaName>(schema: S, property: PropertyName<S>, keyword: Exclude<keyof Bounds, 'pattern'>): number {
  const v = limit(schema, property)[keyword];
  if (v === undefined) throw new Error(`openapi.json declares no ${keyword} on ${schema}.${property}`);
  return v;
}

/** "8–128 characters", "at most 500 characters". */
export function lengthHint(b: Bounds): string | undefined {
  const { minLength: lo, maxLength: hi } = b;
  if (lo !== undefined && lo > 1 && hi !== undefined) return `${lo}–${hi} characters`;
  if (hi !== undefined) return `At most ${hi} characters`;
  if (lo !== undefined && lo > 1) return `At least ${lo} characters`;
  return undefined;
}

/** The bounds the forms use, read when this module loads (so a missing one fails at import). */
export const LIMITS = {
  register: {
    email: { maxLength: must('RegisterIn', 'email', 'maxLength') },
    password: { minLength: must('RegisterIn', 'password', 'minLength'), maxLength: must('RegisterIn', 'password', 'maxLength') },
    name: { minLength: must('RegisterIn', 'name', 'minLength'), maxLength: must('RegisterIn', 'name', 'maxLength') },
  },
  product: {
    name: { maxLength: must('ProductForm', 'name', 'maxLength') },
    description: { maxLength: must('ProductForm', 'description', 'maxLength') },
    sku: { maxLength: must('ProductForm', 'sku', 'maxLength') },
    price: { minimum: must('ProductForm', 'price', 'minimum'), maximum: must('ProductForm', 'price', 'maximum') },
    stock: { minimum: must('ProductForm', 'stock', 'minimum'), maximum: must('ProductForm', 'stock', 'maximum') },
  },
  productPatch: {
    name: { maxLength: must('ProductPatch', 'name', 'maxLength') },
    description: { maxLength: must('ProductPatch', 'description', 'maxLength') },
    lowStockThreshold: {
      minimum: must('ProductPatch', 'low_stock_threshold', 'minimum'),
      maximum: must('ProductPatch', 'low_stock_threshold', 'maximum'),
    },
  },
  stock: {
    delta: { minimum: must('StockIn', 'delta', 'minimum'), maximum: must('StockIn', 'delta', 'maximum') },
    reason: { maxLength: must('StockIn', 'reason', 'maxLength') },
  },
  status: {
    reason: { maxLength: must('StatusIn', 'reason', 'maxLength') },
  },
  line: {
    quantity: { minimum: must('LineIn', 'quantity', 'minimum'), maximum: must('LineIn', 'quantity', 'maximum') },
  },
  order: {
    items: { maxItems: must('OrderIn', 'items', 'maxItems') },
  },
  webhook: {
    url: { maxLength: must('WebhookIn', 'url', 'maxLength') },
    description: { maxLength: must('WebhookIn', 'description', 'maxLength') },
  },
  webhookPatch: {
    url: { maxLength: must('WebhookPatch', 'url', 'maxLength') },
    description: { maxLength: must('WebhookPatch', 'description', 'maxLength') },
  },
} as const;
