import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Principals } from '../adapters/bus/nats/auth/principals.ts';
import { examples } from './examples.ts';
import { CliFailure } from './failure.ts';
import { configOrFail } from './serveCommand.ts';

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

async function fail(e: unknown): Promise<never> {
  if (e instanceof CliFailure) throw e;
  const { PrincipalError } = await import('../adapters/bus/nats/auth/principals.ts');
  throw new CliFailure(e instanceof PrincipalError ? 'invalid_request' : 'internal', (e as Error).message);
}

export function registerPrincipalCommands(program: Command): void {
  const cmd = program
    .command('principal')
    .description('who may connect: issue and revoke credentials for people and AI agents')
    .addHelpText('after', examples('termshare principal add ai:claude', 'termshare principal list', 'termshare principal revoke ai:claude'));
  /** The accounts file says who may read the broadcasts: the policy decides (`events.read`). */
  const principals = async () => {
    const config = await configOrFail(process.env);
    const [{ Principals }, { CedarPolicyGate }, { eventsReadCheck }] = await Promise.all([
      import('../adapters/bus/nats/auth/principals.ts'),
      import('../adapters/policy/cedar/cedarGate.ts'),
      import('../service/access.ts'),
    ]);
    const gate = new CedarPolicyGate(config.policyFile, config.entitiesFile, undefined, { watch: false });
    return { config, p: new Principals(config.stateDir, config.prefix, eventsReadCheck(gate)) };
  };
  cmd
    .command('init')
    .description('make the service\'s and your credentials and the nats-server accounts file (serve does this on its first run)')
    .addHelpText('after', examples('termshare principal init', 'TERMSHARE_STATE_DIR=/srv/termshare termshare principal init --json'))
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const { config, p } = await principals();
        const { operator } = await p.ensure(config.operator);
        const out = { operator: operator.principal, credentials: p.paths.operator, service: p.paths.service, accounts: p.paths.authConfig };
        if (o.json) console.log(JSON.stringify(out, null, 2));
        else console.log(`you are ${out.operator} (credentials ${out.credentials})\nnats-server accounts: ${out.accounts} (include it in your server's configuration; see examples/nats-server.conf)`);
      } catch (e) {
        await fail(e);
      }
    });
  cmd
    .command('add <principal>')
    .description('issue credentials for human:<id> or ai:<id>; prints the file (0600) to hand over')
    .addHelpText('after', examples('termshare principal add ai:claude', 'termshare principal add human:lee --out lee.creds --json'))
    .option('--out <file>', 'write the credentials here (default: under the state dir)')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { out?: string; json?: boolean }) => {
      try {
        const { p } = await principals();
        const { entry, file } = await p.add(ref, o.out);
        const reload = await reloadServer(p);
        if (o.json) console.log(JSON.stringify({ principal: entry.principal, publicKey: entry.publicKey, file, reload }, null, 2));
        else console.log(`${entry.principal}: credentials in ${file} (give them to that person or agent: TERMSHARE_CREDS=${file})\n${reload}`);
      } catch (e) {
        await fail(e);
      }
    });
  cmd
    .command('revoke <principal>')
    .description('end a principal\'s credentials at once: the server disconnects them, the service refuses them')
    .addHelpText('after', examples('termshare principal revoke ai:claude', 'termshare principal revoke human:lee --json'))
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      try {
        const { p } = await principals();
        const entry = await p.revoke(ref);
        const reload = await reloadServer(p);
        if (o.json) console.log(JSON.stringify({ principal: entry.principal, revokedAt: entry.revokedAt, reload }, null, 2));
        else console.log(`${entry.principal}: revoked at ${entry.revokedAt}\n${reload}`);
      } catch (e) {
        await fail(e);
      }
    });
  cmd
    .command('list')
    .description('every principal, live and revoked')
    .addHelpText('after', examples('termshare principal list', 'termshare principal list --json'))
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const all = await (await principals()).p.list();
        if (o.json) return console.log(JSON.stringify(all, null, 2));
        for (const p of all) console.log(`${p.principal.padEnd(28)} ${p.revokedAt ? `revoked ${p.revokedAt}` : 'live'}${p.operator ? ' (operator)' : ''}  ${p.publicKey}`);
      } catch (e) {
        await fail(e);
      }
    });
}
