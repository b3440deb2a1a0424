import type { z } from 'zod';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';

/** Parses raw request bytes: malformed JSON and schema violations become `invalid_request` saying which field and why. */
export function parseRequest<S extends z.ZodType>(schema: S, raw: Uint8Array | string, verb: string): Result<z.infer<S>> {
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch (e) {
    return err(
      new TermshareError(ErrorCodes.invalidRequest, `${verb}: the body is not valid JSON (${(e as Error).message}); send a JSON object as described in the contract`),
    );
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return ok(parsed.data);
  const problems = parsed.error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : 'body';
    if (i.code === 'unrecognized_keys') return `${where}: unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}; remove them`;
    return `${where}: ${i.message}`;
  });
  return err(
    new TermshareError(ErrorCodes.invalidRequest, `${verb}: invalid request: ${problems.join('; ')}`, { issues: parsed.error.issues }),
  );
}
