/** Reading the JSON Schema keywords the generator follows, whatever else a schema holds. */

export type Schema = Readonly<Record<string, unknown>>;

/** The type a value is generated as: the first non-null one named, else guessed from the schema's shape. */
export function typeOf(schema: Schema): string {
  const type = schema["type"];
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return String(type.find((candidate) => candidate !== "null") ?? "null");
  return isSchema(schema["properties"]) ? "object" : "string";
}

export function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function stringKeyword(schema: Schema, name: string): string | undefined {
  const value = schema[name];
  return typeof value === "string" ? value : undefined;
}

export function numberKeyword(schema: Schema, name: string): number | undefined {
  const value = schema[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
