import type { Logger } from '../log.ts';

/**
 * The last line of defence of `termshare serve`: an unhandled rejection or an uncaught exception
 * is logged (with its stack, at error level, counted) and the service keeps serving its live
 * shares, instead of dying and dropping every participant. Request handling does not rely on it:
 * every handler's failure is already answered as an `internal` error (endpoints.ts). A log line
 * from here is a bug to fix. Returns a function that removes the handlers.
 */
export function installCrashGuard(log: Logger): { faults: () => number; uninstall: () => void } {
  let faults = 0;
  const onRejection = (reason: unknown) => {
    faults += 1;
    log.error({ fault: 'unhandledRejection', faults, err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection (a bug): logged, the service keeps serving');
  };
  const onException = (e: Error, origin: string) => {
    faults += 1;
    log.error({ fault: origin, faults, err: e?.stack ?? String(e) }, 'uncaught exception (a bug): logged, the service keeps serving');
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    faults: () => faults,
    uninstall: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
