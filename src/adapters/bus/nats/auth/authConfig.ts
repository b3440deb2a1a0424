import { AUDIT_STREAM, BADGE_BUCKET, Verbs } from '../../../../api/subjects.ts';
import { inboxPrefixOf } from './credentials.ts';

/** The account the service runs in (JetStream, audit, badges) and the one every principal is in. */
export const SERVICE_ACCOUNT = 'TERMSHARE';
export const USERS_ACCOUNT = 'TERMSHARE_USERS';

export type AuthUser = { publicKey: string };
/** A principal, and whether the policy lets it read the broadcasts (`events.read`). */
export type AuthPrincipal = AuthUser & { watch: boolean };

const q = (s: string) => JSON.stringify(s);
const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;

/** Subjects principals may send requests on: the contract's verbs and the micro service's discovery. */
export const requestSubjects = (prefix: string) => [...Object.values(Verbs).map((v) => `${prefix}.${v}`), '$SRV.>'];
/** What the service publishes for everyone signed in: events, badge changes, the development inspector. */
export const broadcastSubjects = (prefix: string) => [`${prefix}.events.>`, `${prefix}.inspect.>`, `$KV.${BADGE_BUCKET}.>`];

/**
 * The audit stream is append-only: even the service's own credentials may not delete, purge,
 * re-configure or remove it (the stream itself also denies delete and purge).
 */
export const auditDenials = [
  `$JS.API.STREAM.DELETE.${AUDIT_STREAM}`,
  `$JS.API.STREAM.PURGE.${AUDIT_STREAM}`,
  `$JS.API.STREAM.UPDATE.${AUDIT_STREAM}`,
  `$JS.API.STREAM.MSG.DELETE.${AUDIT_STREAM}`,
];

/**
 * The accounts block for nats-server (an `include` file). Principals authenticate with nkeys
 * (the server checks a signature of its nonce), live in their own account and reach the
 * service only through service imports with `share: true`: the server then stamps every
 * request with a `Nats-Request-Info` header naming the key it verified, which a client cannot
 * forge. Each principal may publish only requests and subscribe only to its own inbox and, when
 * the policy permits it `events.read`, the broadcasts: nobody reads another's replies or answers
 * a request in the service's place.
 */
export function renderAuthConfig(opts: { prefix: string; service: AuthUser; principals: AuthPrincipal[] }): string {
  const { prefix } = opts;
  const verbs = Object.values(Verbs).map((v) => `${prefix}.${v}`);
  const exports = [
    ...verbs.map((s) => `      { service: ${q(s)} }`),
    `      { service: "$SRV.>" }`,
    ...broadcastSubjects(prefix).map((s) => `      { stream: ${q(s)} }`),
  ];
  const imports = [
    ...verbs.map((s) => `      { service: { account: ${SERVICE_ACCOUNT}, subject: ${q(s)} }, share: true }`),
    `      { service: { account: ${SERVICE_ACCOUNT}, subject: "$SRV.>" } }`,
    ...broadcastSubjects(prefix).map((s) => `      { stream: { account: ${SERVICE_ACCOUNT}, subject: ${q(s)} } }`),
  ];
  const user = (u: AuthPrincipal) =>
    `      { nkey: ${u.publicKey}, permissions: { publish: { allow: ${list(requestSubjects(prefix))} }, subscribe: { allow: ${list([`${inboxPrefixOf(u.publicKey)}.>`, ...(u.watch ? broadcastSubjects(prefix) : [])])} } } }`;
  return [
    '# Written by termshare from $TERMSHARE_STATE_DIR/principals.json: do not edit, it is rewritten',
    '# on every `termshare principal add|revoke` (which then asks the server to reload).',
    'accounts {',
    `  ${SERVICE_ACCOUNT} {`,
    '    jetstream: enabled',
    '    users: [',
    `      { nkey: ${opts.service.publicKey}, permissions: { publish: { deny: ${list(auditDenials)} } } }`,
    '    ]',
    '    exports: [',
    exports.join(',\n'),
    '    ]',
    '  }',
    `  ${USERS_ACCOUNT} {`,
    '    users: [',
    opts.principals.map(user).join(',\n'),
    '    ]',
    '    imports: [',
    imports.join(',\n'),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}
