import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_TTL_SECONDS } from './api/schemas.ts';
import { DEFAULT_PREFIX } from './api/subjects.ts';
import { quote } from './api/quote.ts';
import { locateZellij } from './adapters/terminals/zellij/locate.ts';
import { defaultStateDir } from './stateDir.ts';

const seconds = (name: string, max = MAX_TTL_SECONDS) =>
  z.coerce.number({ error: `${name} must be a number of seconds` }).int(`${name} must be whole seconds`).min(0).max(max);

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LogFormats = ['pretty', 'json'] as const;
export type LogFormat = (typeof LogFormats)[number];

/** A setting that cannot be used: the message names the variable, what it takes and what it got. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A node's name is one NATS subject token (it names the node's subjects and its audit chain). */
export const NODE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The host name as a node name: characters a subject token cannot hold become `_`. */
export const defaultNodeName = (host = hostname()): string => host.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'node';

const Env = z.object({
  TERMSHARE_NATS_URL: z.string().optional(),
  TERMSHARE_STATE_DIR: z.string().optional(),
  TERMSHARE_POLICY: z.string().optional(),
  TERMSHARE_ENTITIES: z.string().optional(),
  TERMSHARE_UPTERM_SERVER: z.string().optional(),
  TERMSHARE_UPTERM_BIN: z.string().optional(),
  TERMSHARE_UPTERM_KNOWN_HOSTS: z.string().optional(),
  TERMSHARE_UPTERM_FINGERPRINT: z.string().regex(/^SHA256:[A-Za-z0-9+/=]+$/, 'TERMSHARE_UPTERM_FINGERPRINT looks like SHA256:<base64>').optional(),
  TERMSHARE_TMATE_SERVER: z.string().optional(),
  TERMSHARE_TMATE_FINGERPRINT: z.string().regex(/^SHA256:[A-Za-z0-9+/=]+$/, 'TERMSHARE_TMATE_FINGERPRINT looks like SHA256:<base64>').optional(),
  TERMSHARE_TMATE_BIN: z.string().default('tmate'),
  TERMSHARE_TMUX_SOCKET: z.string().optional(),
  TERMSHARE_ZELLIJ: z.string().optional(),
  TERMSHARE_DEFAULT_TTL: seconds('TERMSHARE_DEFAULT_TTL').default(1800),
  TERMSHARE_GRACE: seconds('TERMSHARE_GRACE').default(300),
  TERMSHARE_MAX_SHARES_PER_TERMINAL: z.coerce.number().int().min(1).max(100).default(2),
  TERMSHARE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default(DEFAULT_PREFIX),
  TERMSHARE_LINK_TIMEOUT: seconds('TERMSHARE_LINK_TIMEOUT', 300).default(15),
  TERMSHARE_ENDED_RETENTION: seconds('TERMSHARE_ENDED_RETENTION').default(3600),
  TERMSHARE_PARTITION_TIMEOUT: seconds('TERMSHARE_PARTITION_TIMEOUT', 86_400).default(30),
  TERMSHARE_RECORDING_TTL: seconds('TERMSHARE_RECORDING_TTL', 10 * 365 * 86_400).min(60, 'TERMSHARE_RECORDING_TTL is at least 60 seconds').default(30 * 86_400),
  TERMSHARE_NATS_SERVER_BIN: z.string().default('nats-server'),
  TERMSHARE_INSPECT: z.enum(['0', '1', 'true', 'false', '']).default('0'),
  TERMSHARE_OPERATOR: z.string().regex(/^(human|ai):[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/, 'TERMSHARE_OPERATOR is human:<id> or ai:<id>').optional(),
  TERMSHARE_CREDS: z.string().optional(),
  TERMSHARE_NODE: z.string().regex(NODE_NAME, 'TERMSHARE_NODE is one NATS subject token: letters, digits, _ and - (at most 64), no dots, spaces or wildcards').optional(),
  TERMSHARE_REPLICAS: z.coerce.number({ error: 'TERMSHARE_REPLICAS must be a number' }).int().min(1, 'TERMSHARE_REPLICAS is at least 1').max(5, 'TERMSHARE_REPLICAS is at most 5 (a JetStream limit)').default(1),
  TERMSHARE_NODE_TIMEOUT: seconds('TERMSHARE_NODE_TIMEOUT', 3600).default(10),
  TERMSHARE_LOG_LEVEL: z.enum(LOG_LEVELS, { error: (i) => `must be one of ${LOG_LEVELS.join(', ')} (got ${quote(String(i.input))})` }).default('info'),
  TERMSHARE_LOG_FORMAT: z.enum(LogFormats, { error: (i) => `must be pretty or json (got ${quote(String(i.input))}); unset: pretty on a terminal, json otherwise` }).optional(),
});

export type Config = {
  natsUrl?: string;
  stateDir: string;
  policyFile: string;
  entitiesFile: string;
  upterm: { server?: string; bin: string; knownHosts: string; fingerprint?: string };
  tmate: { server?: string; fingerprint?: string; bin: string };
  tmuxSocket?: string;
  /** The zellij binary for `zellij:` terminals (TERMSHARE_ZELLIJ, else PATH, else the set-up's cache); none: no zellij terminals. */
  zellijBin?: string;
  defaultTtlMs: number;
  graceMs: number;
  maxSharesPerTerminal: number;
  prefix: string;
  linkTimeoutMs: number;
  /** How long ended shares, handoffs and their approvals stay visible (at most 500 of each kind). */
  endedRetentionMs: number;
  /** NATS unreachable this long ends every share (fail safe); 0: never. */
  partitionTimeoutMs: number;
  /** How long recordings are kept (the recording stream's max age). */
  recordingTtlMs: number;
  natsServerBin: string;
  logLevel: string;
  /** Unset: pretty on a terminal, JSON otherwise. */
  logFormat?: LogFormat;
  /** The local user's principal: `serve` issues its credentials on first run. */
  operator: string;
  /** The credentials file `termshare` commands connect with (default: the operator's). */
  credsFile?: string;
  /** This service's name in a cluster (TERMSHARE_NODE, default the host name): the owner of the terminals its multiplexer holds. */
  node: string;
  /** Replicas of every stream and bucket the service makes (TERMSHARE_REPLICAS). */
  replicas: number;
  /** A node whose heartbeat is older than this is lost: the others report its shares lost. */
  nodeTimeoutMs: number;
  /** Publish every actor transition on `<prefix>.inspect.>` for `termshare inspect`. */
  inspect: boolean;
};

// In a module of its own so the CLI finds the state dir without loading zod.
export { defaultStateDir };

/** Where `npm run setup` puts the upterm/uptermd it builds. */
export function defaultToolsBin(env: NodeJS.ProcessEnv = process.env): string {
  return env.TERMSHARE_TOOLS_BIN || join(homedir(), '.local', 'share', 'termshare', 'bin');
}

/** A user name as a principal id: characters outside the id alphabet become `_`. */
const plainId = (name: string) => name.replace(/[^A-Za-z0-9._@+-]/g, '_').replace(/^[^A-Za-z0-9]/, 'u') || 'operator';

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  // An empty variable is an unset one (`TERMSHARE_X= termshare ...`), as shells and systemd users expect.
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${why}`);
  }
  const e = parsed.data;
  const stateDir = defaultStateDir(env);
  const config: Config = {
    natsUrl: e.TERMSHARE_NATS_URL || undefined,
    stateDir,
    policyFile: e.TERMSHARE_POLICY ?? join(stateDir, 'policy.cedar'),
    entitiesFile: e.TERMSHARE_ENTITIES ?? join(stateDir, 'entities.json'),
    upterm: {
      server: e.TERMSHARE_UPTERM_SERVER,
      bin: e.TERMSHARE_UPTERM_BIN ?? join(defaultToolsBin(env), 'upterm'),
      knownHosts: e.TERMSHARE_UPTERM_KNOWN_HOSTS ?? join(stateDir, 'upterm_known_hosts'),
      fingerprint: e.TERMSHARE_UPTERM_FINGERPRINT,
    },
    tmate: { server: e.TERMSHARE_TMATE_SERVER, fingerprint: e.TERMSHARE_TMATE_FINGERPRINT, bin: e.TERMSHARE_TMATE_BIN },
    tmuxSocket: e.TERMSHARE_TMUX_SOCKET,
    zellijBin: locateZellij(env),
    defaultTtlMs: e.TERMSHARE_DEFAULT_TTL * 1000,
    graceMs: e.TERMSHARE_GRACE * 1000,
    maxSharesPerTerminal: e.TERMSHARE_MAX_SHARES_PER_TERMINAL,
    prefix: e.TERMSHARE_PREFIX,
    linkTimeoutMs: e.TERMSHARE_LINK_TIMEOUT * 1000,
    endedRetentionMs: e.TERMSHARE_ENDED_RETENTION * 1000,
    partitionTimeoutMs: e.TERMSHARE_PARTITION_TIMEOUT * 1000,
    recordingTtlMs: e.TERMSHARE_RECORDING_TTL * 1000,
    natsServerBin: e.TERMSHARE_NATS_SERVER_BIN,
    logLevel: e.TERMSHARE_LOG_LEVEL,
    logFormat: e.TERMSHARE_LOG_FORMAT,
    operator: e.TERMSHARE_OPERATOR ?? `human:${plainId(userInfo().username)}`,
    credsFile: e.TERMSHARE_CREDS || undefined,
    node: e.TERMSHARE_NODE ?? defaultNodeName(),
    replicas: e.TERMSHARE_REPLICAS,
    nodeTimeoutMs: Math.max(1, e.TERMSHARE_NODE_TIMEOUT) * 1000,
    inspect: e.TERMSHARE_INSPECT === '1' || e.TERMSHARE_INSPECT === 'true',
  };
  return { ...config, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}
