import type { z } from 'zod';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';
import { quote } from './quote.ts';

/** Parses raw request bytes: malformed JSON and schema violations become `invalid_request` saying which field and why. */
export function parseRequest<S extends z.ZodType>(schema: S, raw: Uint8Array | string, verb: string): Result<z.infer<S>> {
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return err(
      new TermshareError(ErrorCodes.invalidRequest, `${verb}: the body is not valid JSON (it starts ${quote(text, 40)}); send a JSON object as described in the contract`),
    );
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return ok(parsed.data);
  const problems = parsed.error.issues.map((i) => {
    const where = i.path.length ? i.path.map((p) => (typeof p === 'string' && !/^[A-Za-z0-9_]{1,64}$/.test(p) ? quote(p) : String(p))).join('.') : 'body';
    if (i.code === 'unrecognized_keys') return `${where}: unknown field(s) ${listed(i.keys)}; remove them`;
    return `${where}: ${i.message}`;
  });
  return err(
    new TermshareError(ErrorCodes.invalidRequest, `${verb}: invalid request: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`, {
      issues: parsed.error.issues.slice(0, 10),
    }),
  );
}

/** Field names as the request sent them, quoted safely; a long list is cut. */
const listed = (keys: string[]) => keys.slice(0, 10).map((k) => quote(k)).join(', ') + (keys.length > 10 ? ` and ${keys.length - 10} more` : '');
