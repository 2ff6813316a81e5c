/**
 * The vendor's two bodies, for every answer of the public API and the control plane. Types only, so
 * the dashboard's bundle, `testing/` and the tests name the same shapes the server sends.
 */

export interface ErrorDetails {
  path?: string;
  value?: unknown;
  [key: string]: unknown;
}

/** The vendor's failure body; every non-2xx answer of the public API and the control plane. */
export interface ErrorEnvelope {
  success: false;
  error: { code: string; message: string; details: ErrorDetails };
}

/** The vendor's success body. */
export interface SuccessEnvelope<T = Record<string, unknown>> {
  success: true;
  data: T;
}

/** Whatever the API answers, before a caller has looked at `success`. */
export type Envelope<T = Record<string, unknown>> = SuccessEnvelope<T> | ErrorEnvelope;
