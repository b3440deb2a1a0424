/**
 * The 41 secret-bearing values of issue 10, as realistic fakes (made here, deterministic: none is a
 * real credential), and look-alikes that must be left alone.
 */
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
let seed = 7;
/** `n` characters from `alphabet`, pseudo-random and the same on every run. */
export function fake(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    s += alphabet[seed % alphabet.length];
  }
  return s;
}
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LETTERS = ALNUM.slice(0, 52);
const HEX = '0123456789abcdef';
const B64 = `${ALNUM}+/`;
const pw = () => `${fake(14)}x9`;
const pemBody = (first: string) => [first + fake(64 - first.length, B64), fake(64, B64), fake(40, B64)].join('\n');
const pem = (kind: string, first: string) => `-----BEGIN ${kind}-----\n${pemBody(first)}\n-----END ${kind}-----`;

/**
 * name: a realistic variable name; secret: what must not survive (default: the value); byName: only
 * the name tells (a random password): in the scrollback it shows as an assignment, not bare.
 */
export type SecretCase = { label: string; name: string; value: string; secret?: string; byName?: true };

const db = pw(), my = pw(), mongo = pw(), jdbc = pw(), mssql = pw(), proxy = fake(12), redis = pw(), amqp = pw(), netrc = pw();
const rsa = pem('RSA PRIVATE KEY', 'MIIEow');
const jwt = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${fake(40, `${ALNUM}_-`)}.${fake(43, `${ALNUM}_-`)}`;

export const SECRET_CASES: SecretCase[] = [
  { label: 'AWS access key id', name: 'AWS_ACCESS_KEY_ID', value: `AKIA${fake(16, UPPER_DIGITS)}` },
  { label: 'AWS secret access key', name: 'AWS_SECRET_ACCESS_KEY', value: fake(40, B64), byName: true },
  { label: 'GitHub classic token', name: 'GITHUB_TOKEN', value: `ghp_${fake(36)}` },
  { label: 'GitHub fine-grained token', name: 'GH_PAT', value: `github_pat_${fake(82, `${ALNUM}_`)}` },
  { label: 'GitHub OAuth token', name: 'GH_OAUTH_TOKEN', value: `gho_${fake(36)}` },
  { label: 'OpenAI project key', name: 'OPENAI_API_KEY', value: `sk-proj-${fake(74, `${ALNUM}_-`)}T3BlbkFJ${fake(74, `${ALNUM}_-`)}` },
  { label: 'Anthropic key', name: 'ANTHROPIC_API_KEY', value: `sk-ant-api03-${fake(93, `${ALNUM}_-`)}AA` },
  { label: 'Stripe live key', name: 'STRIPE_SECRET_KEY', value: `sk_live_51${fake(48)}` },
  { label: 'Slack bot token', name: 'SLACK_BOT_TOKEN', value: `xoxb-${fake(12, '0123456789')}-${fake(13, '0123456789')}-${fake(24)}` },
  { label: 'Slack webhook', name: 'SLACK_WEBHOOK_URL', value: `https://hooks.slack.com/services/T${fake(8, UPPER_DIGITS)}/B${fake(8, UPPER_DIGITS)}/${fake(24)}` },
  { label: 'GitLab token', name: 'GITLAB_TOKEN', value: `glpat-${fake(20, `${ALNUM}_-`)}` },
  { label: 'Google API key', name: 'GOOGLE_MAPS_API_KEY', value: `AIza${fake(35, `${ALNUM}_-`)}` },
  { label: 'Hugging Face token', name: 'HF_TOKEN', value: `hf_${fake(34, LETTERS)}` },
  { label: 'npm token', name: 'NPM_TOKEN', value: `npm_${fake(36)}` },
  { label: '.npmrc auth line', name: 'NPMRC', value: `//registry.npmjs.org/:_authToken=npm_${fake(36)}` },
  { label: 'RSA private key', name: 'SSH_PRIVATE_KEY', value: rsa, secret: rsa.split('\n')[1]! },
  { label: 'OpenSSH private key', name: 'DEPLOY_KEY', value: pem('OPENSSH PRIVATE KEY', 'b3BlbnNzaC1rZXktdjEAAAAA'), secret: 'b3BlbnNzaC1rZXktdjEAAAAA' },
  { label: 'PGP private key block', name: 'GPG_PRIVATE_KEY', value: pem('PGP PRIVATE KEY BLOCK', 'lQOYBGX'), secret: 'lQOYBGX' },
  { label: 'base64 PEM key', name: 'SSH_KEY_B64', value: Buffer.from(pem('PRIVATE KEY', 'MIIEvQ')).toString('base64') },
  { label: 'GCP service account JSON', name: 'GOOGLE_CREDENTIALS_JSON', value: JSON.stringify({ type: 'service_account', private_key_id: fake(40, HEX), private_key: `${pem('PRIVATE KEY', 'MIIEvg')}\n` }), secret: 'MIIEvg' },
  { label: 'Postgres URL password', name: 'DATABASE_URL', value: `postgres://app:${db}@db.internal:5432/app`, secret: db },
  { label: 'MySQL URL password', name: 'MYSQL_URL', value: `mysql://root:${my}@localhost:3306/shop`, secret: my },
  { label: 'MongoDB URL password', name: 'MONGO_URI', value: `mongodb+srv://svc:${mongo}@cluster0.example.net/app`, secret: mongo },
  { label: 'JDBC MySQL password', name: 'SPRING_DATASOURCE_URL', value: `jdbc:mysql://db:3306/app?user=app&password=${jdbc}`, secret: jdbc },
  { label: 'JDBC SQL Server password', name: 'REPORTS_JDBC', value: `jdbc:sqlserver://db:1433;databaseName=rpt;user=sa;password=${mssql}`, secret: mssql },
  { label: 'Redis URL password', name: 'REDIS_URL', value: `redis://:${redis}@cache:6379/0`, secret: redis },
  { label: 'AMQP URL password', name: 'AMQP_URL', value: `amqp://worker:${amqp}@rabbit:5672/`, secret: amqp },
  { label: 'proxy with basic auth', name: 'HTTPS_PROXY', value: `http://build:${proxy}@proxy.internal:3128`, secret: proxy },
  { label: 'MYSQL_PWD', name: 'MYSQL_PWD', value: pw(), byName: true },
  { label: 'DB_PASS', name: 'DB_PASS', value: pw(), byName: true },
  { label: 'PGPASSWORD', name: 'PGPASSWORD', value: pw(), byName: true },
  { label: 'ENCRYPTION_KEY', name: 'ENCRYPTION_KEY', value: `${fake(43, B64)}=`, byName: true },
  { label: 'docker auths', name: 'DOCKER_AUTH_CONFIG', value: `{"auths":{"registry.example.com":{"auth":"${Buffer.from(`ci:${pw()}`).toString('base64')}"}}}` },
  { label: '.netrc text', name: 'NETRC', value: `machine api.example.com login deploy password ${netrc}`, secret: netrc },
  { label: 'Azure SAS URL', name: 'AZURE_BACKUP_SAS_URL', value: `https://acct.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=${fake(43, B64)}%3D` },
  { label: 'bearer token header', name: 'API_AUTH_HEADER', value: `Authorization: Bearer ${fake(40)}` },
  { label: 'JWT', name: 'ID_TOKEN', value: jwt },
  { label: 'SendGrid key', name: 'SENDGRID_API_KEY', value: `SG.${fake(22)}.${fake(43)}` },
  { label: 'Vault token', name: 'VAULT_TOKEN', value: `hvs.${fake(95, `${ALNUM}_-`)}` },
  { label: 'Shopify token', name: 'SHOPIFY_ACCESS_TOKEN', value: `shpat_${fake(32, HEX)}` },
  { label: 'Databricks token', name: 'DATABRICKS_TOKEN', value: `dapi${fake(32, HEX)}` },
];

/** Harmless variables that look like secrets, or sit next to them: kept as they are. */
export const HARMLESS_ENV: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/home/dev',
  PWD: '/home/dev/src',
  OLDPWD: '/home/dev',
  KEYBOARD: 'us',
  TOKENIZERS_PARALLELISM: 'false',
  PASSWORD_HINT_SHOWN: '1',
  SHOW_PASSWORD_FIELD: 'false',
  GIT_COMMIT: fake(40, HEX),
  REQUEST_ID: '550e8400-e29b-41d4-a716-446655440000',
  LANG: 'en_US.UTF-8',
  TERM: 'xterm-256color',
  GIT_AUTHOR_NAME: 'Dev Eloper',
  XAUTHORITY: '/run/user/1000/xauth_AbCdEf',
  PUBLIC_KEY_PATH: '/home/dev/.ssh/id_ed25519.pub',
  SERVICE_URL: 'https://api.example.com/v1/items?page=2&sort=asc',
  EDITOR: 'vim',
};

export const HARMLESS_LINES: string[] = [
  `commit ${fake(40, HEX)}`,
  'Merge: 3f9c2e1 a41b7d0',
  'request 550e8400-e29b-41d4-a716-446655440000 took 12 ms',
  'The tokenizer splits text into tokens; a token is roughly four characters of English.',
  'Enter your password when prompted, then press Enter.',
  'password_hint_shown=1',
  '$ export KEYBOARD=us TOKENIZERS_PARALLELISM=false',
  '$ git clone https://github.com/owner/repo.git && cd repo',
  'see https://example.com/docs?page=2&sort=asc for the API token docs',
  'id_ed25519  id_ed25519.pub  known_hosts',
];
