/** The order of the vendor's single-writes guide, as its append example sends it. */
export const GUIDE_ORDER = {
  order_id: "ord_9182",
  customer_email: "jane@example.com",
  total: 129.99,
  currency: "USD",
  placed_at: "2026-04-21T15:30:00Z",
};
