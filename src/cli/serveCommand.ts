import type { Command } from 'commander';
import { examples } from './examples.ts';
import { CliFailure } from './failure.ts';

/** Reads the configuration; a wrong variable (TERMSHARE_LOG_LEVEL=loud) is a usage error naming it, not a stack trace. */
export async function configOrFail(env: NodeJS.ProcessEnv, overrides: Parameters<typeof import('../config.ts').loadConfig>[1] = {}) {
  const { loadConfig } = await import('../config.ts');
  try {
    return loadConfig(env, overrides);
  } catch (e) {
    throw new CliFailure('usage', `${(e as Error).message}; fix or unset the variable (the README's configuration table lists each one)`);
  }
}

/** `termshare serve`: the service, with the heavy modules (xstate, cedar, pino) loaded only here. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the service (embedded NATS unless TERMSHARE_NATS_URL is set)')
    .option('--nats-url <url>', 'NATS server to use (TERMSHARE_NATS_URL)')
    .option('--state-dir <dir>', 'state directory (TERMSHARE_STATE_DIR)')
    .option('--policy <file>', 'Cedar policy file (TERMSHARE_POLICY)')
    .option('--entities <file>', 'Cedar entities file (TERMSHARE_ENTITIES)')
    .option('--upterm-server <url>', 'upterm relay, ssh://host:port (TERMSHARE_UPTERM_SERVER)')
    .option('--tmux-socket <name>', 'tmux socket name (TERMSHARE_TMUX_SOCKET)')
    .addHelpText('after', examples('termshare serve', 'TERMSHARE_POLICY=examples/policy.cedar TERMSHARE_ENTITIES=examples/entities.json termshare serve', 'termshare serve --nats-url nats://127.0.0.1:4222'))
    .action(async (o: Record<string, string | undefined>) => {
      const env = { ...process.env };
      if (o.stateDir) env.TERMSHARE_STATE_DIR = o.stateDir;
      const config = await configOrFail(env, { natsUrl: o.natsUrl, policyFile: o.policy, entitiesFile: o.entities, tmuxSocket: o.tmuxSocket });
      if (o.uptermServer) config.upterm.server = o.uptermServer;
      const [{ createLogger }, { installCrashGuard }, { startService }] = await Promise.all([import('../log.ts'), import('../service/crashGuard.ts'), import('../service/service.ts')]);
      const log = createLogger(config.logLevel, { format: config.logFormat });
      // Last resort only: no input should reach it (see src/service/crashGuard.ts).
      installCrashGuard(log);
      let svc: Awaited<ReturnType<typeof startService>>;
      try {
        svc = await startService(config, log);
      } catch (e) {
        console.error(`termshare: cannot start: ${(e as Error).message}`);
        process.exit(1);
      }
      console.log(`termshare ready nats=${svc.natsUrl}`);
      // `on`, not `once`: the handlers stay installed while the shares end, so a second signal is
      // ours to answer (and execa's signal-exit never sees the service as unhandled and re-raises).
      let ending = false;
      const shutdown = async (signal: string) => {
        if (ending) {
          log.warn({ signal }, 'still ending shares (a third signal would not be faster); send SIGKILL to abandon them');
          return;
        }
        ending = true;
        log.info({ signal }, 'ending every share and stopping');
        await svc.stop();
        log.info({ signal }, 'every share ended and recorded; stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
