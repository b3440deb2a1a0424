import { InvalidArgumentError, type Command } from 'commander';
import { examples } from './examples.ts';

type Node = { path: string; subs: string[]; options: { long?: string; short?: string; description: string; choices?: readonly string[]; takesValue: boolean }[]; description: string };

/** The program as a flat list of command paths ("", "share", "audit tail"), each with its verbs and options. */
export function commandTree(program: Command): Node[] {
  const global = program.options.filter((o) => o.long !== '--version');
  const out: Node[] = [];
  const walk = (cmd: Command, path: string) => {
    const own = cmd === program ? program.options : [...cmd.options, ...global];
    out.push({
      path,
      description: cmd.description(),
      subs: cmd.commands.map((c) => c.name()),
      options: [...own.map((o) => ({ long: o.long, short: o.short, description: o.description, choices: o.argChoices, takesValue: o.required || o.optional })), { long: '--help', short: '-h', description: 'show help', takesValue: false }],
    });
    for (const c of cmd.commands) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, '');
  return out;
}

const words = (n: Node) => [...n.subs, ...n.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)))].join(' ');

function bash(tree: Node[]): string {
  const cases = tree.map((n) => `    ${JSON.stringify(n.path)}) echo ${JSON.stringify(words(n))} ;;`).join('\n');
  const subs = tree.filter((n) => n.subs.length > 0).map((n) => `    ${JSON.stringify(n.path)}) echo ${JSON.stringify(n.subs.join(' '))} ;;`).join('\n');
  const choices = [...new Map(tree.flatMap((n) => n.options.filter((o) => o.choices).flatMap((o) => [o.long, o.short].filter(Boolean).map((f) => [f!, o.choices!.join(' ')] as const)))).entries()]
    .map(([flag, values]) => `    ${flag}) COMPREPLY=($(compgen -W ${JSON.stringify(values)} -- "$cur")); return ;;`)
    .join('\n');
  return `# termshare completion for bash: source <(termshare completion bash)
_termshare_words() {
  case "$1" in
${cases}
  esac
}
_termshare_subs() {
  case "$1" in
${subs}
  esac
}
_termshare() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" i w
  case "$prev" in
${choices}
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    [[ " $(_termshare_subs "$path") " == *" $w "* ]] && path="\${path:+$path }$w"
  done
  COMPREPLY=($(compgen -W "$(_termshare_words "$path")" -- "$cur"))
}
complete -F _termshare termshare
`;
}

function zsh(tree: Node[]): string {
  return `#compdef termshare
# termshare completion for zsh: source <(termshare completion zsh)  (or save it as _termshare on $fpath)
autoload -U +X bashcompinit && bashcompinit
${bash(tree).split('\n').slice(1).join('\n')}`;
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fish(tree: Node[]): string {
  const lines = ['# termshare completion for fish: termshare completion fish | source', 'complete -c termshare -f'];
  for (const n of tree) {
    const parts = n.path ? n.path.split(' ') : [];
    const seen = parts.map((p) => `__fish_seen_subcommand_from ${p}`);
    const inHere = (extra: string[]) => fishQuote([...(parts.length === 0 ? ['__fish_use_subcommand'] : seen), ...extra].join('; and '));
    const notDeeper = n.subs.length > 0 && parts.length > 0 ? [`not __fish_seen_subcommand_from ${n.subs.join(' ')}`] : [];
    for (const sub of n.subs) {
      const child = tree.find((c) => c.path === (n.path ? `${n.path} ${sub}` : sub));
      lines.push(`complete -c termshare -n ${inHere(notDeeper)} -a ${sub} -d ${fishQuote(child?.description ?? '')}`);
    }
    if (parts.length === 0) continue;
    for (const o of n.options) {
      const flags = [o.long ? `-l ${o.long.slice(2)}` : '', o.short ? `-s ${o.short.slice(1)}` : ''].filter(Boolean).join(' ');
      const value = o.choices ? ` -x -a ${fishQuote(o.choices.join(' '))}` : o.takesValue ? ' -r' : '';
      lines.push(`complete -c termshare -n ${inHere(notDeeper)} ${flags}${value} -d ${fishQuote(o.description)}`);
    }
  }
  return lines.join('\n') + '\n';
}

const SHELLS = { bash, zsh, fish } as const;
const shellName = (v: string) => {
  if (!(v in SHELLS)) throw new InvalidArgumentError(`"${v}" is not a shell termshare completes: use bash, zsh or fish`);
  return v as keyof typeof SHELLS;
};

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .argument('<shell>', 'bash, zsh or fish', shellName)
    .description('print a shell completion script for every verb and option')
    .addHelpText(
      'after',
      examples('source <(termshare completion bash)          # in ~/.bashrc', 'source <(termshare completion zsh)           # in ~/.zshrc', 'termshare completion fish > ~/.config/fish/completions/termshare.fish'),
    )
    .action((shell: keyof typeof SHELLS) => {
      process.stdout.write(SHELLS[shell](commandTree(program)));
    });
}
