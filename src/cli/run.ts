import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { duration } from './args.ts';
import { CliFailure, usage } from './failure.ts';

/** Global options every verb reads (`program.opts<Globals>()`). */
export type Globals = { creds?: string; timeout?: number };

/** package.json's version, read only when a program is made (no import of the service for it). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The `termshare` program before any verb: commander never prints or exits by itself
 * (`exitOverride`, no error output), so `runCli` answers every mistake the same way: one line
 * (or a JSON error object with `--json`) and exit 2. Subcommands inherit these settings.
 */
export function newProgram(): Command {
  return new Command('termshare')
    .description('Share one terminal safely, through upterm or tmate, behind a policy gate.')
    .version(version(), '-v, --version', 'print the version')
    .option('--creds <file>', 'credentials to connect with (TERMSHARE_CREDS; default: yours from the state dir)')
    .addOption(new Option('--timeout <duration>', 'how long to wait for the reply: 500ms, 10s, 2m (default 10s; 60s for share, switch, stop, revoke, handoff request)').argParser(duration))
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true);
}

/** Whether the command line asks for JSON (before any `--`): then even a failure prints a JSON value on stdout. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end >= 0 ? argv.slice(0, end) : argv).includes('--json');
}

/** Any failure as a CliFailure: commander's usage errors, ours, and the unexpected (no stack trace: `internal`). */
export function failureOf(e: unknown): CliFailure | undefined {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return undefined; // --help, --version
    const text = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return usage(e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync' ? 'name a verb (termshare --help lists them)' : `${text}${HINT}`);
  }
  if (e instanceof CliFailure) return e;
  return new CliFailure('internal', `unexpected failure: ${(e as Error)?.message ?? String(e)}; please report it`);
}

/** Replaced by the verb's own help command when printed. */
const HINT = ' (see termshare --help)';

export function report(f: CliFailure, json: boolean, verb?: string): void {
  const message = verb ? f.message.replace(HINT, ` (see termshare ${verb} --help)`) : f.message;
  if (json) {
    // One line: a JSON value that also fits a JSON-lines stream (status --watch --json).
    process.stdout.write(JSON.stringify({ error: { ...f.toJson().error, message } }) + '\n');
    return;
  }
  process.stderr.write(`termshare: ${f.code === 'usage' ? '' : `${f.code}: `}${message}\n`);
}

/** Parses and runs; every failure ends here as one line or one JSON value, with the README's exit code. */
export async function runCli(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  const json = wantsJson(argv);
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    const f = failureOf(e);
    if (!f) process.exit(0);
    const verb = argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    report(f, json, program.commands.some((c) => c.name() === verb.split(' ')[0]) ? verb.split(' ')[0] : undefined);
    process.exit(f.exitCode);
  }
}
