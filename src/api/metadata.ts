import type { ObjectDefinition } from "../domain/object-schema.js";
import type { ObjectRegistry } from "../object-schemas.js";
import type { Operation } from "./operation.js";
import { findObject } from "./records.js";

export function describeObject(object: ObjectDefinition) {
  return {
    objectName: object.objectName,
    primaryKey: object.primaryKey,
    identityKeys: object.identityKeys,
    requiredFields: object.requiredFields,
    fields: object.fields.map((field) => ({
      name: field.name,
      type: field.type,
      format: field.format,
      required: field.required,
      identity: field.identity,
    })),
  };
}

export function createMetadataOperations(deps: { objects: ObjectRegistry }): Operation[] {
  return [
    {
      name: "metadata",
      method: "get",
      path: "/metadata/objects",
      scope: "metadata:read",
      write: false,
      rateLimit: "single",
      handle: () => ({
        status: 200,
        body: { success: true, data: { objects: [...deps.objects.values()].map(describeObject) } },
      }),
    },
    {
      name: "metadata",
      method: "get",
      path: "/metadata/objects/:object",
      scope: "metadata:read",
      write: false,
      rateLimit: "single",
      handle: (context) => ({
        status: 200,
        body: { success: true, data: describeObject(findObject(deps.objects, context.params["object"])) },
      }),
    },
  ];
}
