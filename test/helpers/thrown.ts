import { ApiError } from "../../src/domain/errors.js";

/** The ApiError `run` throws; fails the test when it throws nothing, rethrows anything else. */
export function thrown(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}
