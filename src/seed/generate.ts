import { Faker, base, en } from "@faker-js/faker";
import type { FieldDefinition, ObjectDefinition } from "../domain/object-schema.js";
import type { Fields } from "../domain/validation.js";

/**
 * Realistic records for any object schema, from a seed: the same seed, object and reference time
 * give the same records, byte for byte, on any machine and any day. Values follow each field's
 * JSON Schema first (enum, const, type, format, pattern, bounds, lengths); field-name heuristics
 * (first_name, phone, tier, customer_id, …) only make the shipped objects read like real data, so
 * a user's own schema with unfamiliar names still gets valid values.
 */

/** Timestamps are relative to this instant unless told otherwise, so a seed means the same rows on any day. */
export const DEFAULT_REFERENCE_TIME = Date.parse("2026-01-01T00:00:00Z");

export interface GenerateOptions {
  object: ObjectDefinition;
  count: number;
  seed: number;
  /** Epoch milliseconds; generated timestamps fall around it (mostly in the two years before). */
  referenceTime?: number;
}

type Schema = Readonly<Record<string, unknown>>;

interface Person {
  first: string;
  last: string;
}

/** One record's shared facts, so its email, first_name and last_name name the same person. */
interface RecordContext {
  index: number;
  person: Person | undefined;
}

/** Optional fields are present this often: most rows are full, some are sparse, as in real exports. */
const OPTIONAL_PRESENCE = 0.9;
const NESTED_PRESENCE = 0.8;
/** Fresh draws before an identity value is made unique by its index (never reached for the shipped objects). */
const UNIQUE_ATTEMPTS = 25;
const MAX_DEPTH = 3;

const TIERS = ["bronze", "silver", "gold", "platinum"];
const SUBSCRIPTION_STATUSES = ["active", "trialing", "past_due", "canceled", "paused"];
const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"];
const PLANS = ["free", "starter", "pro", "business", "enterprise"];
const SOURCES = ["web", "ios", "android", "referral", "partner", "import"];
const EVENT_NAMES = ["page_view", "product_viewed", "add_to_cart", "checkout_started", "order_completed", "signed_up", "logged_in"];
const LOCALES = ["en-US", "en-GB", "fr-FR", "de-DE", "es-ES"];
const ID_PREFIXES: Record<string, string> = {
  customer_id: "cus",
  order_id: "ord",
  event_id: "evt",
  session_id: "sess",
  user_id: "usr",
  account_id: "acct",
  product_id: "prod",
  external_id: "ext",
};

/** `count` records, in order. For large counts prefer `generateRecordStream`, which holds one at a time. */
export function generateRecords(options: GenerateOptions): Fields[] {
  return [...generateRecordStream(options)];
}

export function* generateRecordStream(options: GenerateOptions): Generator<Fields, void, undefined> {
  const generator = new RecordGenerator(options);
  for (let index = 0; index < options.count; index += 1) yield generator.record(index);
}

/** Makes one value; the record's context keeps its person's names consistent across fields. */
type Produce = (context: RecordContext) => unknown;
type ProduceString = (context: RecordContext) => string;

interface PlannedField {
  name: string;
  always: boolean;
  produce: Produce;
}

/**
 * Reads the schema once, up front, into one producer function per field: a hundred thousand
 * records then cost only the faker calls, not a fresh look at every keyword and field name.
 */
class RecordGenerator {
  readonly #faker: Faker;
  readonly #fields: PlannedField[];

  constructor(options: GenerateOptions) {
    // A private instance: the shared `faker` export is global state another caller could reseed.
    this.#faker = new Faker({ locale: [en, base], seed: options.seed });
    this.#faker.setDefaultRefDate(new Date(options.referenceTime ?? DEFAULT_REFERENCE_TIME));
    const { object } = options;
    this.#fields = object.fields.map((field) => {
      const produce = this.#compile(field.name, field.schema, 0);
      return {
        name: field.name,
        // The primary key is always there, so seeding twice with one seed upserts instead of duplicating.
        always: field.required || field.name === object.primaryKey,
        produce: field.identity ? this.#unique(field, produce) : produce,
      };
    });
  }

  record(index: number): Fields {
    const context: RecordContext = { index, person: undefined };
    const record: Fields = {};
    for (const field of this.#fields) {
      if (!field.always && !this.#faker.datatype.boolean({ probability: OPTIONAL_PRESENCE })) continue;
      const value = field.produce(context);
      if (value !== undefined) record[field.name] = value;
    }
    return record;
  }

  /** Identity values must not repeat within a run, or the rows would merge or collide. */
  #unique(field: FieldDefinition, produce: Produce): Produce {
    const taken = new Set<unknown>();
    return (context) => {
      let value = produce(context);
      for (let attempt = 1; attempt < UNIQUE_ATTEMPTS && taken.has(value); attempt += 1) value = produce(context);
      if (taken.has(value)) value = disambiguate(value, field.schema, context.index, taken);
      taken.add(value);
      return value;
    };
  }

  #compile(name: string, schema: Schema, depth: number): Produce {
    const faker = this.#faker;
    if ("const" in schema) {
      const constant = schema["const"];
      return () => constant;
    }
    const choices = schema["enum"];
    if (Array.isArray(choices) && choices.length > 0) return () => faker.helpers.arrayElement(choices as unknown[]);
    switch (typeOf(schema)) {
      case "string":
        return this.#string(name, schema);
      case "integer":
        return this.#integer(name, schema);
      case "number":
        return this.#number(name, schema);
      case "boolean":
        return () => faker.datatype.boolean();
      case "object":
        return this.#nestedObject(name, schema, depth);
      case "array":
        return this.#array(name, schema, depth);
      default:
        // "null": an absent field and a null one read the same in a stored row.
        return () => undefined;
    }
  }

  #string(name: string, schema: Schema): ProduceString {
    const format = stringKeyword(schema, "format");
    const pattern = stringKeyword(schema, "pattern");
    const minLength = numberKeyword(schema, "minLength");
    const maxLength = numberKeyword(schema, "maxLength");
    const generated =
      (format === undefined ? undefined : this.#byFormat(format, name)) ?? this.#byName(name) ?? (() => this.#faker.word.sample());
    if (pattern === undefined && minLength === undefined && maxLength === undefined) return generated;
    // ajv compiles `pattern` with the unicode flag; test it the same way.
    const regex = pattern === undefined ? undefined : new RegExp(pattern, "u");
    return (context) => {
      let value = this.#fitLength(generated(context), minLength, maxLength);
      if (pattern !== undefined && regex !== undefined && !regex.test(value)) value = this.#fromPattern(pattern, regex) ?? value;
      return value;
    };
  }

  #byFormat(format: string, name: string): ProduceString | undefined {
    const faker = this.#faker;
    const instant = this.#instant(name);
    switch (format) {
      case "email":
      case "idn-email":
        return (context) => this.#email(context);
      case "date-time":
        return () => rfc3339(instant());
      case "date":
        return () => rfc3339(instant()).slice(0, 10);
      case "time":
        return () => rfc3339(instant()).slice(11);
      case "uri":
      case "url":
      case "iri":
      case "uri-reference":
      case "iri-reference":
        return () => faker.internet.url({ appendSlash: false });
      case "uuid":
        return () => faker.string.uuid();
      case "ipv4":
        return () => faker.internet.ipv4();
      case "ipv6":
        return () => faker.internet.ipv6();
      case "hostname":
      case "idn-hostname":
        return () => faker.internet.domainName();
      case "duration":
        return () => `P${faker.number.int({ min: 1, max: 90 })}D`;
      case "byte":
        return () => Buffer.from(faker.string.alphanumeric(12)).toString("base64");
      default:
        return undefined;
    }
  }

  /** Names the shipped objects use, and their usual spellings in other CDP schemas. */
  #byName(name: string): ProduceString | undefined {
    const faker = this.#faker;
    const n = name.toLowerCase();
    const pick = (values: readonly string[]): ProduceString => () => faker.helpers.arrayElement(values);
    if (n.includes("email")) return (context) => this.#email(context);
    if (/phone|mobile|msisdn/.test(n)) return () => this.#phone();
    if (/^(first_?name|given_?name|forename)$/.test(n)) return (context) => this.#person(context).first;
    if (/^(last_?name|surname|family_?name)$/.test(n)) return (context) => this.#person(context).last;
    if (/^(full_?name|name|display_?name)$/.test(n)) {
      return (context) => `${this.#person(context).first} ${this.#person(context).last}`;
    }
    if (/(_at|_on|_date|_time|timestamp)$/.test(n)) {
      const instant = this.#instant(n);
      return () => rfc3339(instant());
    }
    if (/(^|_)(url|uri|link|website|referrer|referer|href)$/.test(n)) return () => faker.internet.url({ appendSlash: false });
    if (n.includes("currency")) return () => faker.finance.currencyCode();
    if (n.includes("country")) return () => faker.location.countryCode();
    if (n.includes("city")) return () => faker.location.city();
    if (/(^|_)(state|region|province)$/.test(n)) return () => faker.location.state();
    if (/zip|postal|postcode/.test(n)) return () => faker.location.zipCode();
    if (/street|address/.test(n)) return () => faker.location.streetAddress();
    if (/company|organi[sz]ation|employer/.test(n)) return () => faker.company.name();
    if (/(^|_)ip(_address)?$/.test(n)) return () => faker.internet.ipv4();
    if (/user_?agent/.test(n)) return () => faker.internet.userAgent();
    if (/(^|_)tier$/.test(n)) return pick(TIERS);
    if (/subscription_status|plan_status/.test(n)) return pick(SUBSCRIPTION_STATUSES);
    if (/(^|_)status$/.test(n)) return pick(ORDER_STATUSES);
    if (n.includes("plan")) return pick(PLANS);
    if (/source|channel/.test(n)) return pick(SOURCES);
    if (/^(event|event_name|event_type|action)$/.test(n)) return pick(EVENT_NAMES);
    if (/(^|_)(id|uuid)$/.test(n)) return this.#identifier(n);
    if (/locale|language/.test(n)) return pick(LOCALES);
    if (/time_?zone/.test(n)) return () => faker.location.timeZone();
    if (/description|note|comment|message|summary|bio/.test(n)) return () => faker.lorem.sentence();
    if (/title|subject/.test(n)) return () => faker.lorem.words(3);
    if (/product/.test(n)) return () => faker.commerce.productName();
    return undefined;
  }

  #identifier(name: string): ProduceString {
    const faker = this.#faker;
    if (name === "anonymous_id" || name === "id" || name === "uuid") return () => faker.string.uuid();
    if (name === "event_id") return () => `evt_${faker.string.ulid({ refDate: faker.date.past({ years: 2 }) })}`;
    if (name === "order_id") return () => `ord_${faker.string.numeric(10)}`;
    if (name === "external_id") return () => `ext_${faker.string.numeric(10)}`;
    const stem = name.replace(/_?(id|uuid)$/, "");
    const prefix = ID_PREFIXES[name] ?? (stem.replace(/[^a-z0-9]/g, "").slice(0, 4) || "id");
    return () => `${prefix}_${faker.string.alphanumeric({ length: 14, casing: "lower" })}`;
  }

  #person(context: RecordContext): Person {
    context.person ??= { first: this.#faker.person.firstName(), last: this.#faker.person.lastName() };
    return context.person;
  }

  /** At example.com/.org/.net (reserved for examples), so seeded data can never reach a real inbox. */
  #email(context: RecordContext): string {
    const { first, last } = this.#person(context);
    return this.#faker.internet.exampleEmail({ firstName: first, lastName: last }).toLowerCase();
  }

  /** A North American number in E.164: area code and exchange that could exist (no leading 0/1, no N11). */
  #phone(): string {
    const faker = this.#faker;
    const triple = (): string => {
      const first = faker.number.int({ min: 2, max: 9 });
      const second = faker.number.int({ min: 0, max: 8 });
      const third = faker.number.int({ min: 0, max: 9 });
      return `${first}${second}${second === 1 && third === 1 ? 0 : third}`;
    };
    return `+1${triple()}${triple()}${faker.string.numeric(4)}`;
  }

  /** "last seen" is recent, "expires" is ahead, anything else sometime in the last two years. */
  #instant(name: string): () => number {
    const faker = this.#faker;
    if (/last|seen|login|updated|modified|recent/.test(name)) return () => faker.date.recent({ days: 30 }).getTime();
    if (/expire|due|until|ends|renew/.test(name)) return () => faker.date.soon({ days: 365 }).getTime();
    return () => faker.date.past({ years: 2 }).getTime();
  }

  #integer(name: string, schema: Schema): Produce {
    const n = name.toLowerCase();
    const usual: [number, number] = /count|quantity|qty|items/.test(n)
      ? [1, 10]
      : /(^|_)age$/.test(n)
        ? [18, 85]
        : /year/.test(n)
          ? [1950, 2025]
          : /rating|stars/.test(n)
            ? [1, 5]
            : [0, 1000];
    const lower = numberKeyword(schema, "minimum") ?? shifted(numberKeyword(schema, "exclusiveMinimum"), 1);
    const upper = numberKeyword(schema, "maximum") ?? shifted(numberKeyword(schema, "exclusiveMaximum"), -1);
    const [min, max] = bounds(lower === undefined ? undefined : Math.ceil(lower), upper === undefined ? undefined : Math.floor(upper), usual);
    const step = numberKeyword(schema, "multipleOf");
    if (step !== undefined && step > 0) return () => this.#multiple(min, max, step);
    return () => this.#faker.number.int({ min, max });
  }

  #number(name: string, schema: Schema): Produce {
    const n = name.toLowerCase();
    const usual: [number, number] = /lifetime|ltv|balance/.test(n)
      ? [0, 5000]
      : /total|amount|price|revenue|spend|cost|value/.test(n)
        ? [5, 500]
        : /ratio|probability|share/.test(n)
          ? [0, 1]
          : /percent|pct/.test(n)
            ? [0, 100]
            : /(^|_)lat(itude)?$/.test(n)
              ? [-90, 90]
              : /(^|_)(lng|lon|longitude)$/.test(n)
                ? [-180, 180]
                : [0, 1000];
    const lower = numberKeyword(schema, "minimum") ?? shifted(numberKeyword(schema, "exclusiveMinimum"), 0.01);
    const upper = numberKeyword(schema, "maximum") ?? shifted(numberKeyword(schema, "exclusiveMaximum"), -0.01);
    const [min, max] = bounds(lower, upper, usual);
    const step = numberKeyword(schema, "multipleOf");
    if (step !== undefined && step > 0) return () => this.#multiple(min, max, step);
    // Two decimals, like money; rounding could step outside a tight range, so clamp after it.
    return () => Math.min(max, Math.max(min, this.#faker.number.float({ min, max, fractionDigits: 2 })));
  }

  #multiple(min: number, max: number, step: number): number {
    const from = Math.ceil(min / step);
    const to = Math.max(from, Math.floor(max / step));
    const decimals = (String(step).split(".")[1] ?? "").length;
    return Number((this.#faker.number.int({ min: from, max: to }) * step).toFixed(decimals));
  }

  #nestedObject(name: string, schema: Schema, depth: number): Produce {
    const faker = this.#faker;
    const properties = schema["properties"];
    if (isSchema(properties) && Object.keys(properties).length > 0) {
      const required = Array.isArray(schema["required"]) ? (schema["required"] as unknown[]) : [];
      const children = Object.entries(properties)
        .filter((entry): entry is [string, Schema] => isSchema(entry[1]))
        .map(([key, child]) => ({ key, required: required.includes(key), produce: this.#compile(key, child, depth + 1) }));
      return (context) => {
        const result: Fields = {};
        for (const child of children) {
          if (!child.required && !faker.datatype.boolean({ probability: NESTED_PRESENCE })) continue;
          const value = child.produce(context);
          if (value !== undefined) result[child.key] = value;
        }
        return result;
      };
    }
    const extra = schema["additionalProperties"];
    if (extra === false || depth >= MAX_DEPTH) return () => ({});
    const entry: (context: RecordContext) => Fields = isSchema(extra)
      ? ((produceValue) => (context: RecordContext) => ({ [faker.word.noun()]: produceValue(context) }))(this.#compile("value", extra, depth + 1))
      : this.#attribute(name);
    return (context) => {
      const result: Fields = {};
      const entries = faker.number.int({ min: 1, max: 3 });
      for (let i = 0; i < entries; i += 1) Object.assign(result, entry(context));
      return result;
    };
  }

  /** A free-form object (event properties, traits) gets the small flat attributes such objects carry. */
  #attribute(name: string): () => Fields {
    const faker = this.#faker;
    const attributes: (() => Fields)[] = [
      () => ({ path: `/${faker.word.noun()}` }),
      () => ({ plan: faker.helpers.arrayElement(PLANS) }),
      () => ({ campaign: `${faker.word.adjective()}-${faker.word.noun()}` }),
      () => ({ variant: faker.helpers.arrayElement(["a", "b"]) }),
      () => ({ quantity: faker.number.int({ min: 1, max: 5 }) }),
      () => ({ price: faker.number.float({ min: 1, max: 200, fractionDigits: 2 }) }),
    ];
    if (/trait|profile|user/.test(name)) attributes.push(() => ({ locale: faker.helpers.arrayElement(LOCALES) }));
    return () => faker.helpers.arrayElement(attributes)();
  }

  #array(name: string, schema: Schema, depth: number): Produce {
    if (depth >= MAX_DEPTH) return () => [];
    const faker = this.#faker;
    const item = this.#compile(name, isSchema(schema["items"]) ? schema["items"] : { type: "string" }, depth + 1);
    const minItems = numberKeyword(schema, "minItems") ?? 0;
    const maxItems = Math.max(minItems, numberKeyword(schema, "maxItems") ?? minItems + 3);
    const unique = schema["uniqueItems"] === true;
    return (context) => {
      const length = faker.number.int({ min: minItems, max: maxItems });
      const values: unknown[] = [];
      const seen = new Set<string>();
      for (let attempt = 0; values.length < length && attempt < length * 5; attempt += 1) {
        const value = item(context);
        if (value === undefined) break;
        const key = JSON.stringify(value);
        if (unique && seen.has(key)) continue;
        seen.add(key);
        values.push(value);
      }
      return values;
    };
  }

  #fitLength(value: string, minLength: number | undefined, maxLength: number | undefined): string {
    // JSON Schema counts code points; a string's length (UTF-16 units) is never fewer, so it
    // is only worth counting them when the cheap length says the value may not fit.
    if (maxLength !== undefined && value.length > maxLength && [...value].length > maxLength) {
      return [...value].slice(0, maxLength).join("");
    }
    if (minLength !== undefined && value.length < minLength) {
      return value + this.#faker.string.alphanumeric({ length: minLength - [...value].length, casing: "lower" });
    }
    return value;
  }

  /** faker reads a subset of regular expressions: no anchors, no shorthand classes. */
  #fromPattern(pattern: string, regex: RegExp): string | undefined {
    const simplified = pattern
      .replace(/^\^/, "")
      .replace(/\$$/, "")
      .replaceAll("\\d", "[0-9]")
      .replaceAll("\\w", "[a-zA-Z0-9_]");
    for (let attempt = 0; attempt < 5; attempt += 1) {
      let candidate: string;
      try {
        candidate = this.#faker.helpers.fromRegExp(simplified);
      } catch {
        return undefined;
      }
      if (regex.test(candidate)) return candidate;
    }
    return undefined;
  }
}

/** Makes a value unique by the record's index, keeping it valid for an email or a length limit. */
function disambiguate(value: unknown, schema: Schema, index: number, taken: ReadonlySet<unknown>): unknown {
  if (typeof value === "number") {
    let candidate = value + index;
    while (taken.has(candidate)) candidate += 1;
    return candidate;
  }
  const text = String(value);
  const suffix = `${index.toString(36)}`;
  const at = text.lastIndexOf("@");
  if (at > 0) return `${text.slice(0, at)}.${suffix}${text.slice(at)}`;
  const maxLength = numberKeyword(schema, "maxLength");
  const stem = maxLength === undefined ? text : text.slice(0, Math.max(0, maxLength - suffix.length - 1));
  return `${stem}_${suffix}`;
}

/** Schema bounds win; a one-sided bound keeps the usual range's width. */
function bounds(lower: number | undefined, upper: number | undefined, usual: [number, number]): [number, number] {
  const width = usual[1] - usual[0];
  let min = lower ?? usual[0];
  let max = upper ?? usual[1];
  if (lower !== undefined && upper === undefined && max < min) max = min + width;
  if (upper !== undefined && lower === undefined && min > max) min = max - width;
  return min <= max ? [min, max] : [min, min];
}

const shifted = (value: number | undefined, by: number): number | undefined => (value === undefined ? undefined : value + by);

function typeOf(schema: Schema): string {
  const type = schema["type"];
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return String(type.find((candidate) => candidate !== "null") ?? "null");
  return isSchema(schema["properties"]) ? "object" : "string";
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringKeyword(schema: Schema, name: string): string | undefined {
  const value = schema[name];
  return typeof value === "string" ? value : undefined;
}

function numberKeyword(schema: Schema, name: string): number | undefined {
  const value = schema[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** RFC 3339 in UTC without milliseconds, the way the guides write timestamps: 2026-04-21T15:30:00Z. */
function rfc3339(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}
