import { registerApprovalCommands } from './approvalCommands.ts';
import { registerAuditCommands } from './auditCommands.ts';
import { registerCompletionCommand } from './completion.ts';
import { registerPolicyCommands } from './policyCommands.ts';
import { registerPrincipalCommands } from './principalCommands.ts';
import { newProgram, runCli } from './run.ts';
import { registerServeCommand } from './serveCommand.ts';
import { registerShareCommands } from './shareCommands.ts';
import { examples } from './examples.ts';
import { registerRecordingCommands } from './recordingCommands.ts';

// Only commander and the command definitions load up front: each verb imports what it needs
// (NATS, the service, cedar, pino) when it runs, so a CLI call stays fast.
const connectOrExit: typeof import('./client.ts').connectOrExit = async (o) => (await import('./client.ts')).connectOrExit(o);

const program = newProgram();
registerServeCommand(program);
registerShareCommands(program);
registerApprovalCommands(program);

program
  .command('schema')
  .description('print the JSON Schema of every request, the share, events, audit records and badges')
  .addHelpText('after', examples('termshare schema > termshare.schema.json', "termshare schema | jq '.requests | keys'"))
  .action(async () => {
    const { contractJsonSchema } = await import('../api/jsonSchema.ts');
    console.log(JSON.stringify(contractJsonSchema(), null, 2));
  });

program
  .command('demo')
  .description('run a loopback relay and the service, share a demo tmux terminal, print its link and status')
  .option('--once', 'end right after showing the share (the default without a terminal on stdin)')
  .action(async (o: { once?: boolean }) => {
    const { runDemo } = await import('./demo.ts');
    await runDemo({ once: Boolean(o.once) });
    process.exit(0);
  });

program
  .command('inspect')
  .description('development inspector: print every actor transition live (serve with TERMSHARE_INSPECT=1)')
  .option('--actor <id>', 'only this actor (a share or handoff id, "supervisor", "worker", "approval")')
  .option('--heartbeats', 'also show heartbeat transitions (one a second per worker)')
  .option('--json', 'print JSON lines')
  .action(async (o: { actor?: string; json?: boolean; heartbeats?: boolean }) => {
    const { formatInspect } = await import('../service/inspect.ts');
    const client = await connectOrExit({ creds: program.opts<{ creds?: string }>().creds });
    const prefix = process.env.TERMSHARE_PREFIX ?? 'termshare';
    const subject = `${prefix}.inspect.${o.actor ? o.actor.replace(/[^A-Za-z0-9_-]/g, '_') : '>'}`;
    console.error(`inspecting ${subject} (Ctrl-C to stop; the service needs TERMSHARE_INSPECT=1)`);
    for await (const m of client.nc.subscribe(subject)) {
      const rec = m.json<{ event: string }>();
      if (!o.heartbeats && rec.event.endsWith('.HEARTBEAT')) continue;
      console.log(o.json ? m.string() : formatInspect(m.json()));
    }
  });

program
  .command('panel')
  .description('the lane panel: a loopback web page of shared terminals and their badges, live')
  .option('--port <port>', 'port (default: a free one)', (v) => Number(v))
  .action(async (o: { port?: number }) => {
    const { startPanel } = await import('../panel/server.ts');
    const client = await connectOrExit({ creds: program.opts<{ creds?: string }>().creds });
    const panel = await startPanel(client, { prefix: process.env.TERMSHARE_PREFIX ?? 'termshare', ...(o.port ? { port: o.port } : {}) });
    console.log(`termshare panel ${panel.url}`);
    const stop = () => void panel.close().then(() => client.close()).then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

registerPolicyCommands(program);
registerPrincipalCommands(program);
registerAuditCommands(program);
registerRecordingCommands(program);
registerCompletionCommand(program);

/** Examples for the verbs defined above without them (demo, inspect, panel). */
const MORE_EXAMPLES: Record<string, string[]> = {
  demo: ['termshare demo', 'termshare demo --once'],
  inspect: ['TERMSHARE_INSPECT=1 termshare serve &  termshare inspect', 'termshare inspect --actor supervisor --json'],
  panel: ['termshare panel', 'termshare panel --port 8080'],
};
for (const c of program.commands) if (MORE_EXAMPLES[c.name()]) c.addHelpText('after', examples(...MORE_EXAMPLES[c.name()]!));

await runCli(program);
