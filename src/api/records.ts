import { problemToError } from "../domain/errors.js";
import { planAppend, planUpsert } from "../domain/identity.js";
import { parseSingleWrite } from "../domain/requests.js";
import { checkRecord } from "../domain/validation.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { RecordsStore } from "../store/records-store.js";
import { findObject } from "../services/objects.js";
import type { Operation, OperationContext } from "../http/operation.js";

export interface RecordsDeps {
  objects: ObjectRegistry;
  records: RecordsStore;
  newRecordId: () => string;
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** Single writes: parse → domain plan → store → respond. */
export function createRecordOperations(deps: RecordsDeps): Operation[] {
  const append: Operation = {
    name: "append",
    method: "post",
    path: "/records/:object/append",
    scope: "records:write",
    write: true,
    rateLimit: "single",
    handle(context: OperationContext) {
      const object = findObject(deps.objects, context.params["object"]);
      const { record } = parseSingleWrite(context.body, "append");
      const problem = checkRecord(object, record, "record");
      if (problem) throw problemToError(problem);
      const plan = planAppend(object, record);
      const row = deps.records.apply({ workspace: context.workspace, object, plan, newId: deps.newRecordId, now: context.now });
      return {
        status: 200,
        body: {
          success: true,
          data: {
            operation: "append",
            objectName: object.objectName,
            accepted: true,
            acceptedAt: iso(context.now),
            acceptedRecords: 1,
          },
        },
        headers: { "X-Emulator-Record-Id": row.id },
      };
    },
  };

  const upsert: Operation = {
    name: "upsert",
    method: "post",
    path: "/records/:object/upsert",
    scope: "records:write",
    write: true,
    rateLimit: "single",
    handle(context: OperationContext) {
      const object = findObject(deps.objects, context.params["object"]);
      const request = parseSingleWrite(context.body, "upsert");
      const problem = checkRecord(object, request.record, "record");
      if (problem) throw problemToError(problem);
      const matchKey = request.matchKey ?? object.primaryKey;
      const plan = planUpsert({
        object,
        record: request.record,
        matchKey,
        policy: object.collisionPolicy,
        lookup: deps.records.lookup(context.workspace, object.objectName),
      });
      const row = deps.records.apply({ workspace: context.workspace, object, plan, newId: deps.newRecordId, now: context.now });
      const headers: Record<string, string> = {
        "X-Emulator-Record-Id": row.id,
        "X-Emulator-Upsert-Result": plan.result,
      };
      if (plan.collisions.length > 0) headers["X-Emulator-Identity-Collisions"] = String(plan.collisions.length);
      return {
        status: 200,
        body: {
          success: true,
          data: {
            operation: "upsert",
            objectName: object.objectName,
            accepted: true,
            acceptedAt: iso(context.now),
            acceptedRecords: 1,
            matchKey,
          },
        },
        headers,
      };
    },
  };

  return [append, upsert];
}
