// The floor a CLI call is measured against: a fresh node process that connects with the same
// credentials and makes the same request (share.list) with nats.js, nothing else.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { TextEncoder } from 'node:util';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';

const [url = '', credsFile = ''] = process.argv.slice(2);
const text = readFileSync(credsFile, 'utf8');
const seed = new TextEncoder().encode((text.split('\n').find((l) => l.startsWith('SU')) ?? '').trim());
const inboxPrefix = /^# inbox prefix: (\S+)$/m.exec(text)?.[1];
const nc = await connect({ servers: url, authenticator: nkeyAuthenticator(seed), inboxPrefix });
const m = await nc.request('termshare.share.list', '{}', { timeout: 5000 });
process.stdout.write(m.string() + '\n');
await nc.close();
