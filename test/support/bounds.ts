/**
 * The revoke bound: how soon after a revoke (or any end of a backend) every participant must be
 * disconnected. README: "a revoke that disconnects every participant within seconds".
 */
export const REVOKE_BOUND_MS = 5000;
