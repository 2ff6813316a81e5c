import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import type { JsonRecord } from "./types.js";

/**
 * Identifier normalisation from the identity-resolution guide. The API matches identifiers
 * exactly, so these are what stand between an integration and duplicate profiles.
 */

/** `strip().lower()` — always. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/**
 * E.164 (`+12125551234`) or undefined when the number is not a valid one. Uses libphonenumber's
 * full metadata, as Python's `phonenumbers.is_valid_number` does, so both agree on validity.
 */
export function normalizePhone(raw: string, defaultRegion: CountryCode = "US"): string | undefined {
  const parsed = parsePhoneNumberFromString(raw, defaultRegion);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** The fields `buildProfileRecord` copies after trimming (names and ids keep their case). */
const COPIED_FIELDS = ["first_name", "last_name", "customer_id", "external_id"] as const;

/**
 * The guide's `build_profile_record`: normalised email and phone (a phone that cannot be
 * normalised is left out rather than written malformed), then names and ids trimmed per the
 * guide's rules table. Empty values are left out, so an upsert never clears a field by accident.
 */
export function buildProfileRecord(event: Readonly<Record<string, unknown>>): JsonRecord {
  const record: JsonRecord = {};
  const email = event["email"];
  if (typeof email === "string" && email.trim() !== "") record["email"] = normalizeEmail(email);
  const phone = event["phone"];
  if (typeof phone === "string" && phone.trim() !== "") {
    const normalized = normalizePhone(phone);
    if (normalized) record["phone"] = normalized;
  }
  for (const field of COPIED_FIELDS) {
    const value = event[field];
    if (typeof value === "string" && value.trim() !== "") record[field] = value.trim();
    else if (typeof value === "number") record[field] = value;
  }
  return record;
}
