import type { Operation, OperationContext } from "../http/operation.js";
import { createRecordWrites, type RecordWritesDeps, type SingleWriteInput } from "../services/records.js";

export type RecordsDeps = RecordWritesDeps;

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

const writeInput = (context: OperationContext): SingleWriteInput => ({
  workspace: context.workspace,
  objectName: context.params["object"],
  body: context.body,
  now: context.now,
});

/** Single writes: the request in, one service call, the vendor's answer out. */
export function createRecordOperations(deps: RecordsDeps): Operation[] {
  const writes = createRecordWrites(deps);

  const append: Operation = {
    name: "append",
    method: "post",
    path: "/records/:object/append",
    scope: "records:write",
    write: true,
    rateLimit: "single",
    handle(context) {
      const written = writes.append(writeInput(context));
      return {
        status: 200,
        body: {
          success: true,
          data: {
            operation: "append",
            objectName: written.objectName,
            accepted: true,
            acceptedAt: iso(context.now),
            acceptedRecords: 1,
          },
        },
        headers: { "X-Emulator-Record-Id": written.recordId },
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
    handle(context) {
      const written = writes.upsert(writeInput(context));
      const headers: Record<string, string> = {
        "X-Emulator-Record-Id": written.recordId,
        "X-Emulator-Upsert-Result": written.result,
      };
      if (written.collisions > 0) headers["X-Emulator-Identity-Collisions"] = String(written.collisions);
      return {
        status: 200,
        body: {
          success: true,
          data: {
            operation: "upsert",
            objectName: written.objectName,
            accepted: true,
            acceptedAt: iso(context.now),
            acceptedRecords: 1,
            matchKey: written.matchKey,
          },
        },
        headers,
      };
    },
  };

  return [append, upsert];
}
