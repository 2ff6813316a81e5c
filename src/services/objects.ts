import { ApiError } from "../domain/errors.js";
import type { ObjectDefinition, ObjectRegistry } from "../domain/object-schema.js";
import { describeObject, type ObjectView } from "./presenters.js";

/** The object a request names, or the 404 that lists the ones that exist. */
export function findObject(objects: ObjectRegistry, name: string | undefined): ObjectDefinition {
  const object = name === undefined ? undefined : objects.get(name);
  if (!object) {
    throw new ApiError(
      "NOT_FOUND",
      `Object "${name ?? ""}" does not exist; GET /public/v1/metadata/objects lists the objects (${[...objects.keys()].join(", ")})`,
      { details: { path: "objectName", value: name ?? null } },
    );
  }
  return object;
}

/** GET /metadata/objects: every object, as a client sees it. */
export function listObjectMetadata(objects: ObjectRegistry): ObjectView[] {
  return [...objects.values()].map(describeObject);
}

/** GET /metadata/objects/{object}: one object, or the 404 that lists the others. */
export function objectMetadata(objects: ObjectRegistry, name: string | undefined): ObjectView {
  return describeObject(findObject(objects, name));
}
