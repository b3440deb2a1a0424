/** "Examples:" after a verb's help: the README's commands, as a user would type them. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
