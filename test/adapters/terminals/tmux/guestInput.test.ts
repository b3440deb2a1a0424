import { describe, expect, it } from 'vitest';
import { GuestKeys, LEASE_OPTION, MAX_SEND, dropTerminalReplies, forwardArgs } from '../../../../src/adapters/terminals/tmux/guestInput.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('what a guest types, on its way to the pane', () => {
  it('the prefix is a byte like any other: C-b then a key goes to the pane as both bytes', () => {
    const k = new GuestKeys();
    expect(k.take(b('\x02:run-shell x\r'))).toEqual({ bytes: b('\x02:run-shell x\r'), leave: false });
    expect(k.take(b('\x02'))).toEqual({ bytes: b(''), leave: false });
    expect(k.take(b('c'))).toEqual({ bytes: b('\x02c'), leave: false });
  });

  it('C-b d leaves the view (the guest\'s own), keeping what was typed before it', () => {
    expect(new GuestKeys().take(b('ls\x02d more'))).toEqual({ bytes: b('ls'), leave: true });
  });

  it('terminal replies and mouse reports are not typing: they are dropped', () => {
    const replies = '\x1b[?62;22c\x1b[>84;0;0c\x1bP>|xterm(1)\x1b\\\x1b]11;rgb:0000/0000/0000\x07\x1b[<0;10;5M\x1b[<0;10;5m\x1b[M !!\x1b[I\x1b[O';
    expect(dropTerminalReplies(b(`a${replies}b`))).toEqual(b('ab'));
    // Arrow keys and the like are typing.
    expect(dropTerminalReplies(b('\x1b[A\x1b[1;5C\x1bOP'))).toEqual(b('\x1b[A\x1b[1;5C\x1bOP'));
  });

  it('one server command: checks the lease and the pane mode, then writes the bytes as hex to the session\'s pane', () => {
    expect(forwardArgs('work', b('ls\r'))).toEqual([
      'if-shell', '-F', '-t', '=work:', `#{?#{||:#{${LEASE_OPTION}},#{pane_in_mode}},,1}`, "send-keys -H -t '=work:' 6c 73 0d",
    ]);
  });

  it('refuses a session name that could break out of the quoted target, and empty or oversized sends', () => {
    expect(() => forwardArgs("a';kill-server;'", b('x'))).toThrow(/not a session name/);
    expect(() => forwardArgs('work', b(''))).toThrow();
    expect(() => forwardArgs('work', Buffer.alloc(MAX_SEND + 1))).toThrow();
  });
});
