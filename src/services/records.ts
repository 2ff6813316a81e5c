import { problemToError } from "../domain/errors.js";
import { planAppend, planUpsert, type WritePlan } from "../domain/identity.js";
import type { ObjectDefinition, ObjectRegistry } from "../domain/object-schema.js";
import { parseSingleWrite } from "../domain/requests.js";
import { checkRecord } from "../domain/validation.js";
import type { RecordsStore } from "../store/records-store.js";
import { findObject } from "./objects.js";

export interface RecordWritesDeps {
  objects: ObjectRegistry;
  records: RecordsStore;
  newRecordId: () => string;
}

/** One single write as the API received it: the object named in the path and the JSON body. */
export interface SingleWriteInput {
  workspace: string;
  objectName: string | undefined;
  body: unknown;
  /** Emulator-clock epoch milliseconds of the request. */
  now: number;
}

export interface AppendOutcome {
  objectName: string;
  recordId: string;
}

export interface UpsertOutcome {
  objectName: string;
  recordId: string;
  /** The identity key the record was matched on: the request's, else the primary key. */
  matchKey: string;
  result: WritePlan["result"];
  /** How many other stored rows the record's identity keys also pointed at. */
  collisions: number;
}

export interface RecordWrites {
  append(input: SingleWriteInput): AppendOutcome;
  upsert(input: SingleWriteInput): UpsertOutcome;
}

/**
 * Single writes: find the object, read the body, check the record, plan the write and apply it.
 * Synchronous on purpose: the pipeline runs it inside the transaction that also stores the
 * idempotent response, so the two commit together or not at all.
 */
export function createRecordWrites(deps: RecordWritesDeps): RecordWrites {
  const checked = (input: SingleWriteInput, operation: "append" | "upsert") => {
    const object = findObject(deps.objects, input.objectName);
    const request = parseSingleWrite(input.body, operation);
    const problem = checkRecord(object, request.record, "record");
    if (problem) throw problemToError(problem);
    return { object, ...request };
  };
  const apply = (input: SingleWriteInput, object: ObjectDefinition, plan: WritePlan) =>
    deps.records.apply({ workspace: input.workspace, object, plan, newId: deps.newRecordId, now: input.now });

  return {
    append(input) {
      const { object, record } = checked(input, "append");
      const row = apply(input, object, planAppend(object, record));
      return { objectName: object.objectName, recordId: row.id };
    },

    upsert(input) {
      const { object, record, matchKey: requested } = checked(input, "upsert");
      const matchKey = requested ?? object.primaryKey;
      const plan = planUpsert({
        object,
        record,
        matchKey,
        policy: object.collisionPolicy,
        lookup: deps.records.lookup(input.workspace, object.objectName),
      });
      const row = apply(input, object, plan);
      return { objectName: object.objectName, recordId: row.id, matchKey, result: plan.result, collisions: plan.collisions.length };
    },
  };
}
