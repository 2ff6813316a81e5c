import type { ObjectRegistry } from "../domain/object-schema.js";
import type { Operation } from "../http/operation.js";
import { findObject } from "../services/objects.js";
import { describeObject } from "../services/presenters.js";

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
