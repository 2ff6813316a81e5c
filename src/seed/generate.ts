import { Faker, base, en } from "@faker-js/faker";
import type { FieldDefinition, ObjectDefinition } from "../domain/object-schema.js";
import type { Fields } from "../domain/validation.js";
import { integerProducer, numberProducer } from "./number-values.js";
import { isSchema, numberKeyword, stringKeyword, typeOf, type Schema } from "./schema-keywords.js";
import { byFormat, byName, LOCALES, PLANS, type ProduceString, type RecordContext } from "./string-values.js";

/**
 * Realistic records for any object schema, from a seed: the same seed, object and reference time
 * give the same records, byte for byte, on any machine and any day. Values follow each field's
 * JSON Schema first (enum, const, type, format, pattern, bounds, lengths); field-name heuristics
 * (first_name, phone, tier, customer_id, …) only make the shipped objects read like real data, so
 * a user's own schema with unfamiliar names still gets valid values. Strings by format and name
 * are in string-values.ts, numbers in number-values.ts; this file walks the schema.
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

/** Optional fields are present this often: most rows are full, some are sparse, as in real exports. */
const OPTIONAL_PRESENCE = 0.9;
const NESTED_PRESENCE = 0.8;
/** Fresh draws before an identity value is made unique by its index (never reached for the shipped objects). */
const UNIQUE_ATTEMPTS = 25;
const MAX_DEPTH = 3;

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
        return integerProducer(faker, name, schema);
      case "number":
        return numberProducer(faker, name, schema);
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
      (format === undefined ? undefined : byFormat(this.#faker, format, name)) ?? byName(this.#faker, name) ?? (() => this.#faker.word.sample());
    if (pattern === undefined && minLength === undefined && maxLength === undefined) return generated;
    // ajv compiles `pattern` with the unicode flag; test it the same way.
    const regex = pattern === undefined ? undefined : new RegExp(pattern, "u");
    return (context) => {
      let value = this.#fitLength(generated(context), minLength, maxLength);
      if (pattern !== undefined && regex !== undefined && !regex.test(value)) value = this.#fromPattern(pattern, regex) ?? value;
      return value;
    };
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
