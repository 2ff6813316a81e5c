import type { Faker } from "@faker-js/faker";
import { numberKeyword, type Schema } from "./schema-keywords.js";

/**
 * Integers and numbers for a field: within the schema's bounds and steps when it gives them,
 * else in a range its name suggests (an age, a rating, a price, a latitude), else 0 to 1000.
 */

export function integerProducer(faker: Faker, name: string, schema: Schema): () => number {
  const n = name.toLowerCase();
  const usual: [number, number] = /count|quantity|qty|items/.test(n)
    ? [1, 10]
    : /(^|_)age$/.test(n)
      ? [18, 85]
      : /year/.test(n)
        ? [1950, 2025]
        : /rating|stars/.test(n)
          ? [1, 5]
          : [0, 1000];
  const lower = numberKeyword(schema, "minimum") ?? shifted(numberKeyword(schema, "exclusiveMinimum"), 1);
  const upper = numberKeyword(schema, "maximum") ?? shifted(numberKeyword(schema, "exclusiveMaximum"), -1);
  const [min, max] = bounds(lower === undefined ? undefined : Math.ceil(lower), upper === undefined ? undefined : Math.floor(upper), usual);
  const step = numberKeyword(schema, "multipleOf");
  if (step !== undefined && step > 0) return () => multiple(faker, { min, max, step });
  return () => faker.number.int({ min, max });
}

export function numberProducer(faker: Faker, name: string, schema: Schema): () => number {
  const n = name.toLowerCase();
  const usual: [number, number] = /lifetime|ltv|balance/.test(n)
    ? [0, 5000]
    : /total|amount|price|revenue|spend|cost|value/.test(n)
      ? [5, 500]
      : /ratio|probability|share/.test(n)
        ? [0, 1]
        : /percent|pct/.test(n)
          ? [0, 100]
          : /(^|_)lat(itude)?$/.test(n)
            ? [-90, 90]
            : /(^|_)(lng|lon|longitude)$/.test(n)
              ? [-180, 180]
              : [0, 1000];
  const lower = numberKeyword(schema, "minimum") ?? shifted(numberKeyword(schema, "exclusiveMinimum"), 0.01);
  const upper = numberKeyword(schema, "maximum") ?? shifted(numberKeyword(schema, "exclusiveMaximum"), -0.01);
  const [min, max] = bounds(lower, upper, usual);
  const step = numberKeyword(schema, "multipleOf");
  if (step !== undefined && step > 0) return () => multiple(faker, { min, max, step });
  // Two decimals, like money; rounding could step outside a tight range, so clamp after it.
  return () => Math.min(max, Math.max(min, faker.number.float({ min, max, fractionDigits: 2 })));
}

function multiple(faker: Faker, range: { min: number; max: number; step: number }): number {
  const { min, max, step } = range;
  const from = Math.ceil(min / step);
  const to = Math.max(from, Math.floor(max / step));
  const decimals = (String(step).split(".")[1] ?? "").length;
  return Number((faker.number.int({ min: from, max: to }) * step).toFixed(decimals));
}

/** Schema bounds win; a one-sided bound keeps the usual range's width. */
function bounds(lower: number | undefined, upper: number | undefined, usual: [number, number]): [number, number] {
  const width = usual[1] - usual[0];
  let min = lower ?? usual[0];
  let max = upper ?? usual[1];
  if (lower !== undefined && upper === undefined && max < min) max = min + width;
  if (upper !== undefined && lower === undefined && min > max) min = max - width;
  return min <= max ? [min, max] : [min, min];
}

const shifted = (value: number | undefined, by: number): number | undefined => (value === undefined ? undefined : value + by);
