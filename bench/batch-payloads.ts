import { Faker, base, en, en_US } from "@faker-js/faker";

/**
 * What batch-job.ts sends: 10,000 realistic profiles from a fixed faker seed (the same bytes on
 * every run), the same people again with fresh activity, and single writes that each insert.
 */

export const BATCH_ROWS = 10_000;
export const FAKER_SEED = 20260421;
const REFERENCE_DATE = "2026-04-21T12:00:00.000Z";
/** Person templates the single-write loop cycles through; each request gets its own email. */
const SINGLE_TEMPLATES = 500;

const TIERS = [
  { weight: 50, value: "free" },
  { weight: 25, value: "silver" },
  { weight: 15, value: "gold" },
  { weight: 10, value: "platinum" },
] as const;
const SIGNUP_SOURCES = ["organic_search", "paid_search", "facebook_ads", "referral", "email_campaign", "partner", "app_store"] as const;

interface Profile {
  email: string;
  first_name: string;
  last_name: string;
  tier: string;
  phone: string;
  customer_id: string;
  signup_source: string;
  signed_up_at: string;
  last_seen_at: string;
  city: string;
  country: string;
  marketing_opt_in: boolean;
  lifetime_value: number;
}

export interface Payloads {
  insert: Buffer;
  merge: Buffer;
  singles: Omit<Profile, "email" | "phone" | "customer_id">[];
  emailDomains: string[];
}

/**
 * 10,000 profiles from a fixed seed, then the same people again with fresh activity (the merge
 * batch). Every identity key is unique: email (made unique by a suffix where faker repeats one),
 * customer_id, and phone (+1212555 followed by the row's four-digit number).
 */
export function generatePayloads(): Payloads {
  const faker = new Faker({ locale: [en_US, en, base], seed: FAKER_SEED });
  faker.setDefaultRefDate(new Date(REFERENCE_DATE));
  const country = (): string =>
    faker.helpers.weightedArrayElement([
      { weight: 70, value: "US" },
      { weight: 30, value: faker.location.countryCode() },
    ]);
  const person = () => {
    const signedUp = faker.date.past({ years: 4 });
    return {
      first_name: faker.person.firstName(),
      last_name: faker.person.lastName(),
      tier: faker.helpers.weightedArrayElement(TIERS),
      signup_source: faker.helpers.arrayElement(SIGNUP_SOURCES),
      signed_up_at: signedUp.toISOString(),
      last_seen_at: faker.date.between({ from: signedUp, to: REFERENCE_DATE }).toISOString(),
      city: faker.location.city(),
      country: country(),
      marketing_opt_in: faker.datatype.boolean({ probability: 0.4 }),
      lifetime_value: faker.number.float({ min: 0, max: 5000, fractionDigits: 2 }),
    };
  };

  const seenEmails = new Set<string>();
  const seenCustomers = new Set<string>();
  const profiles: Profile[] = [];
  for (let index = 0; index < BATCH_ROWS; index += 1) {
    const base = person();
    let email = faker.internet.email({ firstName: base.first_name, lastName: base.last_name }).toLowerCase();
    if (seenEmails.has(email)) email = email.replace("@", `.${index}@`);
    seenEmails.add(email);
    let customerId = `cus_${faker.string.alphanumeric({ length: 14, casing: "upper" })}`;
    while (seenCustomers.has(customerId)) customerId = `cus_${faker.string.alphanumeric({ length: 14, casing: "upper" })}`;
    seenCustomers.add(customerId);
    profiles.push({
      email,
      ...base,
      phone: `+1212555${String(index).padStart(4, "0")}`,
      customer_id: customerId,
    });
  }
  const later = (iso: string): string =>
    faker.date.between({ from: iso, to: new Date(Date.parse(REFERENCE_DATE) + 86_400_000) }).toISOString();
  const merged = profiles.map((profile) => ({
    ...profile,
    tier: faker.helpers.weightedArrayElement(TIERS),
    last_seen_at: later(profile.last_seen_at),
    marketing_opt_in: faker.datatype.boolean({ probability: 0.4 }),
    lifetime_value: Math.round((profile.lifetime_value + faker.number.float({ min: 0, max: 500 })) * 100) / 100,
  }));
  const body = (records: readonly Profile[]): Buffer => Buffer.from(JSON.stringify({ records, matchKey: "email" }));
  return {
    insert: body(profiles),
    merge: body(merged),
    singles: Array.from({ length: SINGLE_TEMPLATES }, person),
    emailDomains: Array.from({ length: SINGLE_TEMPLATES }, () => faker.internet.domainName()),
  };
}

/** The n-th single write of the whole run: a fresh email every time, so each one inserts. */
export function singleBody(payloads: Payloads, sequence: number): Buffer {
  const template = payloads.singles[sequence % SINGLE_TEMPLATES];
  const domain = payloads.emailDomains[sequence % SINGLE_TEMPLATES] ?? "example.com";
  if (!template) throw new Error("no single-write templates");
  const local = `${template.first_name}.${template.last_name}`.toLowerCase().replace(/[^a-z0-9.]/g, "");
  const record = {
    ...template,
    email: `${local}.${sequence}@${domain}`,
    customer_id: `cus_single_${sequence}`,
  };
  return Buffer.from(JSON.stringify({ record, matchKey: "email" }));
}
