import type { Response } from "express";
import type { SuccessEnvelope } from "../domain/errors.js";

/** Every control-plane answer that succeeds: the vendor's envelope around `data`. */
export function ok<T>(res: Response, data: T, status = 200): void {
  const body: SuccessEnvelope<T> = { success: true, data };
  res.status(status).json(body);
}
