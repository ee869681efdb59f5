/** `renego guard` in front of a lab bank, collecting what it blocked for the matrix's explanation line. */
import { Writable } from 'node:stream';
import { buildGuardConfig } from '../guard/config.ts';
import type { GuardObserver } from '../guard/observer.ts';
import { SILENT_OBSERVER } from '../guard/observer.ts';
import { startGuard } from '../guard/start.ts';
import type { LabOptions } from './run.ts';

export const startLabGuard: NonNullable<LabOptions['startGuard']> = async (policy, upstreamPort) => {
  const blocks: string[] = [];
  const observer: GuardObserver = {
    ...SILENT_OBSERVER,
    event: (_conn, e) => {
      if (e.type === 'blocked') {
        const who = e.block.initiator ? `${e.block.initiator}-initiated renegotiation` : `${e.block.side} record`;
        blocks.push(`closed both sides before the ${who} reached the other end (${e.block.reason})`);
      }
    },
  };
  const config = buildGuardConfig({
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${upstreamPort}`,
    policy,
    logLevel: 'silent',
  });
  const guard = await startGuard(config, {
    observers: [observer],
    processMetrics: false,
    logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  return {
    port: guard.addresses[0]!.port,
    close: () => guard.close(0),
    events: () => blocks,
  };
};
