import { StartupError } from "../domain/startup-error.js";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { createSchemaCompiler, type CollisionPolicy, type ObjectDefinition, type ObjectRegistry } from "../domain/object-schema.js";


/** Start-up refuses to run on a bad schema folder and says which file and what is wrong. */
/** Reads every `*.json` in `dir`: one object per file, named by `objectName` or the file name. */
export function loadObjectSchemas(dir: string, overrides: Record<string, CollisionPolicy> = {}): ObjectRegistry {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    entries = readdirSync(dir).filter((name) => name.endsWith(".json")).sort();
  } catch (error) {
    throw new StartupError("schemas", `schemas folder ${dir} cannot be read: ${(error as Error).message}`);
  }
  if (entries.length === 0) throw new StartupError("schemas", `schemas folder ${dir} has no *.json object schemas`);

  const compile = createSchemaCompiler();
  const registry = new Map<string, ObjectDefinition>();
  const sources = new Map<string, string>();
  for (const entry of entries) {
    const file = join(dir, entry);
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new StartupError("schemas", `${file}: not valid JSON (${(error as Error).message})`);
    }
    let definition: ObjectDefinition;
    try {
      definition = compile(basename(entry, ".json"), document);
    } catch (error) {
      if (error instanceof StartupError) throw new StartupError("schemas", `${file}: ${error.message}`);
      throw error;
    }
    const earlier = sources.get(definition.objectName);
    if (earlier) throw new StartupError("schemas", `${file}: object "${definition.objectName}" is already defined by ${earlier}`);
    sources.set(definition.objectName, file);
    registry.set(definition.objectName, definition);
  }
  for (const [object, policy] of Object.entries(overrides)) {
    const definition = registry.get(object);
    if (!definition) {
      throw new StartupError("schemas", `collision policy given for "${object}", which is not an object in ${dir}`);
    }
    registry.set(object, { ...definition, collisionPolicy: policy });
  }
  return registry;
}
