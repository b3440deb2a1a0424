import { InvalidArgumentError, type Command } from 'commander';
import type { Approval, Handoff } from '../api/schemas.ts';
import { principalRef } from './args.ts';
import { examples } from './examples.ts';
import { formatApproval, formatApprovals, formatHandoff } from './format.ts';
import { AS_HELP, asPrincipal, call, claim } from './shareCommands.ts';

const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'timed-out', 'withdrawn', 'all'];
const approvalState = (v: string) => {
  if (!APPROVAL_STATES.includes(v)) throw new InvalidArgumentError(`"${v}" is not an approval state: use one of ${APPROVAL_STATES.join(', ')}`);
  return v;
};

/** approvals, approve, reject, and handoff request|release|status. */
export function registerApprovalCommands(program: Command): void {
  program
    .command('approvals')
    .description('list approvals (pending ones by default)')
    .option('--state <state>', APPROVAL_STATES.join(', '), approvalState, 'pending')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare approvals', 'termshare approvals --state all --json'))
    .action((o: { state: string; json?: boolean; as?: string }) =>
      call<{ approvals: Approval[] }>(program, 'approval.list', o.state === 'all' ? {} : { state: o.state }, { json: o.json, as: o.as }, (v) => formatApprovals(v.approvals)),
    );

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <approvalId>`)
      .description(`${decision} a pending request`)
      .option('-c, --comment <text>', 'why (recorded in the audit trail)')
      .option('--as <kind:id>', AS_HELP, asPrincipal)
      .option('--json', 'print JSON')
      .addHelpText('after', examples(`termshare ${decision} <approvalId>`, `termshare ${decision} <approvalId> --comment "checked with the on-call"`, `termshare ${decision} <approvalId> --as human:lee --json`))
      .action((approvalId: string, o) =>
        call<{ approval: Approval }>(
          program,
          'approval.decide',
          { approvalId, ...claim(program, o.as, 'approver'), decision, ...(o.comment ? { comment: o.comment } : {}) },
          { json: o.json, as: o.as },
          (v) => formatApproval(v.approval),
        ),
      );
  }

  const handoff = program
    .command('handoff')
    .description("hand a terminal's input to someone else (an AI agent, or back)")
    .addHelpText('after', examples('termshare handoff request tmux:work --to ai:claude --reason "run the migration"', 'termshare handoff status <handoffId>', 'termshare handoff release <handoffId>'));
  handoff
    .command('request <terminal>')
    .description('ask to hand input over; prints the handoff (and its approval, if a policy asks for one)')
    .requiredOption('--to <kind:id>', 'who gets the lease, e.g. ai:claude', principalRef)
    .option('-r, --reason <text>', 'why (recorded in the audit trail)')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare handoff request tmux:work --to ai:claude', 'termshare handoff request tmux:work --to human:lee --reason "your turn" --json'))
    .action((terminal: string, o) =>
      call<{ handoff: Handoff }>(
        program,
        'handoff.request',
        { terminal, to: o.to, ...claim(program, o.as, 'requester'), ...(o.reason ? { reason: o.reason } : {}) },
        { json: o.json, wait: `handing ${terminal} over`, as: o.as },
        (v) => formatHandoff(v.handoff),
      ),
    );
  handoff
    .command('release <handoffId>')
    .description('give input back (the holder), or take it back (the one who handed it off)')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare handoff release <handoffId>', 'termshare handoff release <handoffId> --as ai:claude --json'))
    .action((handoffId: string, o) =>
      call<{ handoff: Handoff }>(program, 'handoff.release', { handoffId, ...claim(program, o.as, 'requester') }, { json: o.json, as: o.as }, (v) => formatHandoff(v.handoff)),
    );
  handoff
    .command('status <handoffId>')
    .description('one handoff: its state, and the context packet for the lease holder')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare handoff status <handoffId>', 'termshare handoff status <handoffId> --json'))
    .action((handoffId: string, o) => call<{ handoff: Handoff }>(program, 'handoff.get', { handoffId }, { json: o.json, as: o.as }, (v) => formatHandoff(v.handoff)));
}
