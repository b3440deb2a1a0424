import { describe, expect, it } from 'vitest';
import { contractJsonSchema } from '../../src/api/jsonSchema.ts';
import { Verbs } from '../../src/api/subjects.ts';

describe('the generated JSON Schema', () => {
  it('covers every verb, and refuses unknown fields as the service does', () => {
    const s = contractJsonSchema() as { requests: Record<string, { additionalProperties?: boolean }> };
    expect(Object.keys(s.requests).sort()).toEqual(Object.values(Verbs).sort());
    for (const schema of Object.values(s.requests)) expect(schema.additionalProperties).toBe(false);
  });
});
