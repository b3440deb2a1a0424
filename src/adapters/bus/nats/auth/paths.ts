import { join } from 'node:path';

/** Where everything about identity lives under the state dir. */
export function authPaths(stateDir: string) {
  const creds = join(stateDir, 'credentials');
  return {
    registry: join(stateDir, 'principals.json'),
    credentialsDir: creds,
    service: join(creds, 'service.creds'),
    operator: join(creds, 'operator.creds'),
    of: (principal: string) => join(creds, `${principal.replace(':', '-')}.creds`),
    authConfig: join(stateDir, 'nats', 'auth.conf'),
    natsPid: join(stateDir, 'nats', 'nats.pid'),
  };
}
export type AuthPaths = ReturnType<typeof authPaths>;
