import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PrincipalError, Principals } from '../adapters/bus/nats/auth/principals.ts';
import { CedarPolicyGate } from '../adapters/policy/cedar/cedarGate.ts';
import { loadConfig } from '../config.ts';
import { eventsReadCheck } from '../service/access.ts';
import { ExitCodes } from './format.ts';

/**
 * Asks the local embedded nats-server (its pid file under the state dir) to reload its accounts,
 * which disconnects revoked principals at once. Says what to do when the server is not ours.
 */
export async function reloadServer(principals: Principals): Promise<string> {
  const pid = Number((await readFile(principals.paths.natsPid, 'utf8').catch(() => '')).trim());
  const cmdline = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
  if (!cmdline.includes('nats-server')) {
    return `no local termshare nats-server is running; the next \`termshare serve\` uses the new accounts (for your own server: it includes ${principals.paths.authConfig}; run \`nats-server --signal reload\`)`;
  }
  process.kill(pid, 'SIGHUP');
  return `the nats-server (pid ${pid}) reloaded its accounts`;
}

function fail(e: unknown): never {
  console.error(`termshare: ${(e as Error).message}`);
  process.exit(e instanceof PrincipalError ? ExitCodes.invalid_request : 1);
}

export function registerPrincipalCommands(program: Command): void {
  const cmd = program.command('principal').description('who may connect: issue and revoke credentials for people and AI agents');
  /** The accounts file says who may read the broadcasts: the policy decides (`events.read`). */
  const principals = () => {
    const config = loadConfig();
    const gate = new CedarPolicyGate(config.policyFile, config.entitiesFile, undefined, { watch: false });
    return new Principals(config.stateDir, config.prefix, eventsReadCheck(gate));
  };
  cmd
    .command('init')
    .description('make the service\'s and your credentials and the nats-server accounts file (serve does this on its first run)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const config = loadConfig();
        const p = principals();
        const { operator } = await p.ensure(config.operator);
        const out = { operator: operator.principal, credentials: p.paths.operator, service: p.paths.service, accounts: p.paths.authConfig };
        if (o.json) console.log(JSON.stringify(out, null, 2));
        else console.log(`you are ${out.operator} (credentials ${out.credentials})\nnats-server accounts: ${out.accounts} (include it in your server's configuration; see examples/nats-server.conf)`);
      } catch (e) {
        fail(e);
      }
    });
  cmd
    .command('add <principal>')
    .description('issue credentials for human:<id> or ai:<id>; prints the file (0600) to hand over')
    .option('--out <file>', 'write the credentials here (default: under the state dir)')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { out?: string; json?: boolean }) => {
      try {
        const p = principals();
        const { entry, file } = await p.add(ref, o.out);
        const reload = await reloadServer(p);
        if (o.json) console.log(JSON.stringify({ principal: entry.principal, publicKey: entry.publicKey, file, reload }, null, 2));
        else console.log(`${entry.principal}: credentials in ${file} (give them to that person or agent: TERMSHARE_CREDS=${file})\n${reload}`);
      } catch (e) {
        fail(e);
      }
    });
  cmd
    .command('revoke <principal>')
    .description('end a principal\'s credentials at once: the server disconnects them, the service refuses them')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      try {
        const p = principals();
        const entry = await p.revoke(ref);
        const reload = await reloadServer(p);
        if (o.json) console.log(JSON.stringify({ principal: entry.principal, revokedAt: entry.revokedAt, reload }, null, 2));
        else console.log(`${entry.principal}: revoked at ${entry.revokedAt}\n${reload}`);
      } catch (e) {
        fail(e);
      }
    });
  cmd
    .command('list')
    .description('every principal, live and revoked')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const all = await principals().list();
        if (o.json) return console.log(JSON.stringify(all, null, 2));
        for (const p of all) console.log(`${p.principal.padEnd(28)} ${p.revokedAt ? `revoked ${p.revokedAt}` : 'live'}${p.operator ? ' (operator)' : ''}  ${p.publicKey}`);
      } catch (e) {
        fail(e);
      }
    });
}
