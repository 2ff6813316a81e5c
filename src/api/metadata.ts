import type { ObjectRegistry } from "../domain/object-schema.js";
import type { Operation } from "../http/operation.js";
import { listObjectMetadata, objectMetadata } from "../services/objects.js";

export function createMetadataOperations(deps: { objects: ObjectRegistry }): Operation[] {
  return [
    {
      name: "metadata",
      method: "get",
      path: "/metadata/objects",
      scope: "metadata:read",
      write: false,
      rateLimit: "single",
      handle: () => ({ status: 200, body: { success: true, data: { objects: listObjectMetadata(deps.objects) } } }),
    },
    {
      name: "metadata",
      method: "get",
      path: "/metadata/objects/:object",
      scope: "metadata:read",
      write: false,
      rateLimit: "single",
      handle: (context) => ({ status: 200, body: { success: true, data: objectMetadata(deps.objects, context.params["object"]) } }),
    },
  ];
}
