import type { Faker } from "@faker-js/faker";

/**
 * Strings for a field by its format (email, date-time, uri, uuid, …) or, failing that, by its
 * name (first_name, phone, tier, customer_id, …), so the shipped objects read like real data.
 * A record's names, email included, belong to one person: see `RecordContext`.
 */

interface Person {
  first: string;
  last: string;
}

/** One record's shared facts, so its email, first_name and last_name name the same person. */
export interface RecordContext {
  index: number;
  person: Person | undefined;
}

export type ProduceString = (context: RecordContext) => string;

const TIERS = ["bronze", "silver", "gold", "platinum"];
const SUBSCRIPTION_STATUSES = ["active", "trialing", "past_due", "canceled", "paused"];
const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"];
export const PLANS = ["free", "starter", "pro", "business", "enterprise"];
const SOURCES = ["web", "ios", "android", "referral", "partner", "import"];
const EVENT_NAMES = ["page_view", "product_viewed", "add_to_cart", "checkout_started", "order_completed", "signed_up", "logged_in"];
export const LOCALES = ["en-US", "en-GB", "fr-FR", "de-DE", "es-ES"];
const ID_PREFIXES: Record<string, string> = {
  customer_id: "cus",
  order_id: "ord",
  event_id: "evt",
  session_id: "sess",
  user_id: "usr",
  account_id: "acct",
  product_id: "prod",
  external_id: "ext",
};

export function byFormat(faker: Faker, format: string, name: string): ProduceString | undefined {
  const instant = instantProducer(faker, name);
  switch (format) {
    case "email":
    case "idn-email":
      return (context) => email(faker, context);
    case "date-time":
      return () => rfc3339(instant());
    case "date":
      return () => rfc3339(instant()).slice(0, 10);
    case "time":
      return () => rfc3339(instant()).slice(11);
    case "uri":
    case "url":
    case "iri":
    case "uri-reference":
    case "iri-reference":
      return () => faker.internet.url({ appendSlash: false });
    case "uuid":
      return () => faker.string.uuid();
    case "ipv4":
      return () => faker.internet.ipv4();
    case "ipv6":
      return () => faker.internet.ipv6();
    case "hostname":
    case "idn-hostname":
      return () => faker.internet.domainName();
    case "duration":
      return () => `P${faker.number.int({ min: 1, max: 90 })}D`;
    case "byte":
      return () => Buffer.from(faker.string.alphanumeric(12)).toString("base64");
    default:
      return undefined;
  }
}

/** Names the shipped objects use, and their usual spellings in other CDP schemas. */
export function byName(faker: Faker, name: string): ProduceString | undefined {
  const n = name.toLowerCase();
  const pick = (values: readonly string[]): ProduceString => () => faker.helpers.arrayElement(values);
  if (n.includes("email")) return (context) => email(faker, context);
  if (/phone|mobile|msisdn/.test(n)) return () => phone(faker);
  if (/^(first_?name|given_?name|forename)$/.test(n)) return (context) => person(faker, context).first;
  if (/^(last_?name|surname|family_?name)$/.test(n)) return (context) => person(faker, context).last;
  if (/^(full_?name|name|display_?name)$/.test(n)) {
    return (context) => `${person(faker, context).first} ${person(faker, context).last}`;
  }
  if (/(_at|_on|_date|_time|timestamp)$/.test(n)) {
    const instant = instantProducer(faker, n);
    return () => rfc3339(instant());
  }
  if (/(^|_)(url|uri|link|website|referrer|referer|href)$/.test(n)) return () => faker.internet.url({ appendSlash: false });
  if (n.includes("currency")) return () => faker.finance.currencyCode();
  if (n.includes("country")) return () => faker.location.countryCode();
  if (n.includes("city")) return () => faker.location.city();
  if (/(^|_)(state|region|province)$/.test(n)) return () => faker.location.state();
  if (/zip|postal|postcode/.test(n)) return () => faker.location.zipCode();
  if (/street|address/.test(n)) return () => faker.location.streetAddress();
  if (/company|organi[sz]ation|employer/.test(n)) return () => faker.company.name();
  if (/(^|_)ip(_address)?$/.test(n)) return () => faker.internet.ipv4();
  if (/user_?agent/.test(n)) return () => faker.internet.userAgent();
  if (/(^|_)tier$/.test(n)) return pick(TIERS);
  if (/subscription_status|plan_status/.test(n)) return pick(SUBSCRIPTION_STATUSES);
  if (/(^|_)status$/.test(n)) return pick(ORDER_STATUSES);
  if (n.includes("plan")) return pick(PLANS);
  if (/source|channel/.test(n)) return pick(SOURCES);
  if (/^(event|event_name|event_type|action)$/.test(n)) return pick(EVENT_NAMES);
  if (/(^|_)(id|uuid)$/.test(n)) return identifier(faker, n);
  if (/locale|language/.test(n)) return pick(LOCALES);
  if (/time_?zone/.test(n)) return () => faker.location.timeZone();
  if (/description|note|comment|message|summary|bio/.test(n)) return () => faker.lorem.sentence();
  if (/title|subject/.test(n)) return () => faker.lorem.words(3);
  if (/product/.test(n)) return () => faker.commerce.productName();
  return undefined;
}

function identifier(faker: Faker, name: string): ProduceString {
  if (name === "anonymous_id" || name === "id" || name === "uuid") return () => faker.string.uuid();
  if (name === "event_id") return () => `evt_${faker.string.ulid({ refDate: faker.date.past({ years: 2 }) })}`;
  if (name === "order_id") return () => `ord_${faker.string.numeric(10)}`;
  if (name === "external_id") return () => `ext_${faker.string.numeric(10)}`;
  const stem = name.replace(/_?(id|uuid)$/, "");
  const prefix = ID_PREFIXES[name] ?? (stem.replace(/[^a-z0-9]/g, "").slice(0, 4) || "id");
  return () => `${prefix}_${faker.string.alphanumeric({ length: 14, casing: "lower" })}`;
}

function person(faker: Faker, context: RecordContext): Person {
  context.person ??= { first: faker.person.firstName(), last: faker.person.lastName() };
  return context.person;
}

/** At example.com/.org/.net (reserved for examples), so seeded data can never reach a real inbox. */
function email(faker: Faker, context: RecordContext): string {
  const { first, last } = person(faker, context);
  return faker.internet.exampleEmail({ firstName: first, lastName: last }).toLowerCase();
}

/** A North American number in E.164: area code and exchange that could exist (no leading 0/1, no N11). */
function phone(faker: Faker): string {
  const triple = (): string => {
    const first = faker.number.int({ min: 2, max: 9 });
    const second = faker.number.int({ min: 0, max: 8 });
    const third = faker.number.int({ min: 0, max: 9 });
    return `${first}${second}${second === 1 && third === 1 ? 0 : third}`;
  };
  return `+1${triple()}${triple()}${faker.string.numeric(4)}`;
}

/** "last seen" is recent, "expires" is ahead, anything else sometime in the last two years. */
function instantProducer(faker: Faker, name: string): () => number {
  if (/last|seen|login|updated|modified|recent/.test(name)) return () => faker.date.recent({ days: 30 }).getTime();
  if (/expire|due|until|ends|renew/.test(name)) return () => faker.date.soon({ days: 365 }).getTime();
  return () => faker.date.past({ years: 2 }).getTime();
}

/** RFC 3339 in UTC without milliseconds, the way the guides write timestamps: 2026-04-21T15:30:00Z. */
function rfc3339(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}
