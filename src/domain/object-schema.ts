import { StartupError } from "./startup-error.js";
import { Ajv, type JSONSchemaType, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { fullFormats } from "ajv-formats/dist/formats.js";
import type { FieldProblem } from "./errors.js";
import { describeSchemaError, problemText } from "./schema-check.js";

/**
 * Object schemas: one JSON Schema file per CDP object, with the vendor's identity metadata
 * (`primaryKey`, `identityKeys`) as extra keywords. This module turns a parsed document into an
 * `ObjectDefinition` with its field validators compiled once, or says precisely what is wrong.
 */

export type CollisionPolicy = "record" | "merge" | "reject";
export const collisionPolicies: readonly CollisionPolicy[] = ["record", "merge", "reject"];

export interface FieldDefinition {
  name: string;
  type: string;
  format: string | null;
  required: boolean;
  identity: boolean;
  /** The property's JSON Schema as written, so the seed generator can honour its bounds, enum and pattern. */
  schema: Readonly<Record<string, unknown>>;
}

export interface ObjectDefinition {
  objectName: string;
  primaryKey: string;
  identityKeys: string[];
  requiredFields: string[];
  fields: FieldDefinition[];
  fieldNames: ReadonlySet<string>;
  collisionPolicy: CollisionPolicy;
  /** Checks each non-null value's type and format; null always passes (it means "clear"). */
  checkValues(record: Record<string, unknown>, basePath: string): FieldProblem | null;
}

/** The shape of an object schema file, itself checked with ajv before anything is compiled. */
interface ObjectSchemaDocument {
  objectName?: string;
  type: "object";
  primaryKey: string;
  identityKeys: string[];
  collisionPolicy?: CollisionPolicy;
  required?: string[];
  properties: Record<string, Record<string, unknown>>;
  additionalProperties?: boolean;
}

const documentSchema: JSONSchemaType<ObjectSchemaDocument> = {
  type: "object",
  required: ["type", "primaryKey", "identityKeys", "properties"],
  properties: {
    objectName: { type: "string", pattern: "^[a-z][a-z0-9_]*$", nullable: true },
    type: { type: "string", const: "object" },
    primaryKey: { type: "string" },
    identityKeys: { type: "array", items: { type: "string" }, minItems: 1, uniqueItems: true },
    collisionPolicy: { type: "string", enum: ["record", "merge", "reject"], nullable: true },
    required: { type: "array", items: { type: "string" }, uniqueItems: true, nullable: true },
    properties: {
      type: "object",
      minProperties: 1,
      required: [],
      additionalProperties: { type: "object", required: [] },
    },
    additionalProperties: { type: "boolean", nullable: true },
  },
  additionalProperties: true,
};

const IDENTITY_TYPES = new Set(["string", "integer", "number"]);
const RFC3339_WITH_T = /^\d{4}-\d{2}-\d{2}T/;

/** One ajv instance per set of object schemas: formats registered once, validators compiled once. */
export function createSchemaCompiler(): (name: string, document: unknown) => ObjectDefinition {
  const ajv = new Ajv({ allErrors: false, strict: true });
  addFormatsModule.default(ajv);
  // The guide refuses `2026-04-21 15:30:00` and `2026-04-21`: a timestamp is RFC 3339 with a
  // `T` and an offset. ajv-formats' full date-time also admits a space separator, so narrow it.
  const fullDateTime = fullFormats["date-time"];
  const isDateTime =
    typeof fullDateTime === "object" && !(fullDateTime instanceof RegExp) && typeof fullDateTime.validate === "function"
      ? (fullDateTime.validate as (value: string) => boolean)
      : null;
  if (!isDateTime) throw new Error("ajv-formats no longer exposes a date-time validator");
  ajv.addFormat("date-time", {
    type: "string",
    validate: (value: string) => RFC3339_WITH_T.test(value) && isDateTime(value),
  });
  ajv.addVocabulary(["primaryKey", "identityKeys", "collisionPolicy", "objectName"]);
  const checkDocument = ajv.compile(documentSchema);

  return (name, document) => {
    if (!checkDocument(document)) {
      throw new StartupError("schemas", problemText(describeSchemaError(checkDocument.errors?.[0], document)));
    }
    const objectName = document.objectName ?? name;
    if (!/^[a-z][a-z0-9_]*$/.test(objectName)) {
      throw new StartupError("schemas",
        `object name "${objectName}" must be lower-case letters, digits and underscores`,
      );
    }
    const propertyNames = Object.keys(document.properties);
    const known = new Set(propertyNames);
    for (const key of document.identityKeys) {
      if (!known.has(key)) throw new StartupError("schemas", `identityKeys: "${key}" is not a property`);
    }
    if (!document.identityKeys.includes(document.primaryKey)) {
      throw new StartupError("schemas",
        `primaryKey "${document.primaryKey}" must be one of identityKeys (${document.identityKeys.join(", ")})`,
      );
    }
    const requiredFields = document.required ?? [];
    for (const key of requiredFields) {
      if (!known.has(key)) throw new StartupError("schemas", `required: "${key}" is not a property`);
    }

    const fields: FieldDefinition[] = [];
    const validators = new Map<string, ValidateFunction>();
    for (const fieldName of propertyNames) {
      const property = document.properties[fieldName] ?? {};
      const type = property["type"];
      if (typeof type !== "string") {
        throw new StartupError("schemas",
          `properties.${fieldName}: "type" must be one JSON type name (string, number, integer, boolean, object, array)`,
        );
      }
      const identity = document.identityKeys.includes(fieldName);
      if (identity && !IDENTITY_TYPES.has(type)) {
        throw new StartupError("schemas",
          `properties.${fieldName}: an identity key must be a string, integer or number, not ${type}`,
        );
      }
      try {
        validators.set(fieldName, ajv.compile(property));
      } catch (error) {
        throw new StartupError("schemas", `properties.${fieldName}: ${(error as Error).message}`);
      }
      const format = property["format"];
      fields.push({
        name: fieldName,
        type,
        format: typeof format === "string" ? format : null,
        required: requiredFields.includes(fieldName),
        identity,
        schema: property,
      });
    }

    // The fast path: one compiled check of the whole record, every field also allowed to be null
    // (null means "clear"). Only when it fails do the per-field validators word the error.
    let checkWhole: ValidateFunction;
    try {
      checkWhole = ajv.compile({
        type: "object",
        properties: Object.fromEntries(
          propertyNames.map((fieldName) => [fieldName, { anyOf: [{ type: "null" }, document.properties[fieldName] ?? {}] }]),
        ),
      });
    } catch (error) {
      throw new StartupError("schemas", `properties: ${(error as Error).message}`);
    }

    return {
      objectName,
      primaryKey: document.primaryKey,
      identityKeys: [...document.identityKeys],
      requiredFields: [...requiredFields],
      fields,
      fieldNames: new Set(propertyNames),
      collisionPolicy: document.collisionPolicy ?? "record",
      checkValues(record, basePath) {
        if (checkWhole(record)) return null;
        for (const [fieldName, value] of Object.entries(record)) {
          if (value === null) continue;
          const validate = validators.get(fieldName);
          if (validate && !validate(value)) {
            const problem = describeSchemaError(validate.errors?.[0], value, { base: `${basePath}.${fieldName}`, wording: "vendor" });
            return { kind: "REQUEST_INVALID", message: problem.message, path: problem.path, value: problem.value ?? null };
          }
        }
        return null;
      },
    };
  };
}

/** Every object the emulator serves, by name. */
export type ObjectRegistry = ReadonlyMap<string, ObjectDefinition>;
