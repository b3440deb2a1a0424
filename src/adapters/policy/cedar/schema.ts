import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { Requester } from '../../../api/schemas.ts';

/** The schema every policy and entities file is validated against (`schema.cedarschema`, next to this file). */
export const SCHEMA_FILE = join(import.meta.dirname, 'schema.cedarschema');
export const SCHEMA_TEXT = readFileSync(SCHEMA_FILE, 'utf8');

/** The name the schema is pre-parsed under inside Cedar (parsed once per process). */
export const SCHEMA_NAME = 'termshare-schema';

const parsed = cedar.preparseSchema(SCHEMA_NAME, SCHEMA_TEXT);
if (parsed.type === 'failure') throw new Error(`${SCHEMA_FILE} does not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);

/** A requester of kind `ai` is an `Agent`, never a `Human`, whatever its id. */
export const principalOf = (r: Pick<Requester, 'kind' | 'id'>) => ({ type: r.kind === 'ai' ? 'Agent' : 'Human', id: r.id });
