/** How many records one seeding request may generate: enough for load tests, small enough to finish. */
export const MAX_SEED_COUNT = 1_000_000;
/** Faker's generator takes a 32-bit seed. */
export const MAX_SEED = 2 ** 32 - 1;
