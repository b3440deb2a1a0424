import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { rules as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import type { SecretLintCoreConfig } from '@secretlint/types';
import type { Span } from './secretNames.ts';

/**
 * Where secrets are in a text, by secretlint's recommended rule set (@secretlint/secretlint-rule-preset-recommend:
 * AWS, GCP, GitHub, GitLab, npm, Slack, Stripe, OpenAI, Anthropic, Hugging Face, SendGrid, Shopify,
 * Vault, Databricks, Docker, private keys, database connection strings, basic auth URLs, ...).
 *
 * Its comment filter is left out: `secretlint-disable` printed by any program in the scrollback
 * would otherwise switch detection off for the rest of it.
 */
const FILTER_COMMENTS = '@secretlint/secretlint-rule-filter-comments';
/** The AWS rule finds bare access key ids (AKIA...) only when asked: a scanner's noise, a redactor's duty. */
const OPTIONS: Record<string, object> = { '@secretlint/secretlint-rule-aws': { enableIDScanRule: true } };
const CONFIG: SecretLintCoreConfig = {
  rules: recommended.filter((r) => r.meta.id !== FILTER_COMMENTS).map((rule) => ({ id: rule.meta.id, rule, options: OPTIONS[rule.meta.id] ?? {} })),
};

// secretlint's profiler is on by default and keeps every performance mark of every run: in a
// service that redacts each line a recording stores, that grows without end (1M marks in 30 s of
// a flooding terminal). Nobody reads its profile here.
secretLintProfiler.setEnabled(false);

async function secretlintSpans(text: string): Promise<Span[]> {
  const result = await lintSource({
    source: { content: text, filePath: 'termshare-context.txt', contentType: 'text' },
    options: { config: CONFIG, noPhysicFilePath: true, maskSecrets: true },
  });
  return result.messages.map((m) => [m.range[0], m.range[1]]);
}

/**
 * What the preset (13.1.0) does not detect, found when the issue's 41 cases were tried against it:
 * JWTs, Google API keys, private key blocks without a full valid body (PGP, escaped in JSON, cut by
 * the scrollback), base64-encoded PEM keys, secrets in URL query strings (JDBC `password=`, Azure
 * SAS `sig=`), any `scheme://user:password@` URL (redis, amqp, ...), Authorization headers and
 * `.netrc` lines. The group to mask is the last capture, or the whole match.
 */
const GAPS: readonly RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  /[?&;](?:password|passwd|pwd|pass|sig|signature|secret|client_secret|token|access_token|api_?key|apikey|auth)=([^&;\s#"'<>]+)/gi,
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:([^\s@/]+)@/gi,
  /\b(?:Authorization|Proxy-Authorization)\s*[:=]\s*["']?(?:Bearer|Basic|Token|Digest)?\s*([A-Za-z0-9._~+/=-]{8,})/gi,
  /\bBearer\s+([A-Za-z0-9._~+/=-]{16,})/g,
  /\bmachine\s+\S+(?:\s+login\s+\S+)?\s+password\s+(\S+)/g,
  /^\s*password\s+(\S+)\s*$/gm,
];
/** Base64 of `-----BEGIN`: a PEM block, encoded; masked when it decodes to a private key. */
const BASE64_PEM = /\bLS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,}/g;

function gapSpans(text: string): Span[] {
  const spans: Span[] = [];
  for (const re of GAPS) {
    for (const m of text.matchAll(re)) {
      const group = m.length > 1 ? m[m.length - 1] : undefined;
      const start = group ? m.index + m[0].lastIndexOf(group) : m.index;
      spans.push([start, start + (group ?? m[0]).length]);
    }
  }
  for (const m of text.matchAll(BASE64_PEM)) {
    if (/PRIVATE KEY/.test(Buffer.from(m[0], 'base64').toString('latin1'))) spans.push([m.index, m.index + m[0].length]);
  }
  return spans;
}

export async function detectSecrets(text: string): Promise<Span[]> {
  return [...(await secretlintSpans(text)), ...gapSpans(text)];
}
