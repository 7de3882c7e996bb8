import { randomBytes } from 'node:crypto';
import type { Progress } from '@fedpet/shared/contracts/messages';
import type { Logger } from '@fedpet/shared/log/logger';
import type { Bus, Subscription } from '@fedpet/shared/transport/bus';
import { consumeEnvelopes } from '@fedpet/shared/transport/consume';
import { Topics } from '@fedpet/shared/transport/topics';

export type ExperimentEnd =
  | { status: 'completed'; event: Extract<Progress, { event: 'experiment.completed' }> }
  | { status: 'failed'; event: Extract<Progress, { event: 'experiment.failed' }> };

export interface ProgressWatch {
  /** Resolves when the experiment completed or failed. */
  readonly ended: Promise<ExperimentEnd>;
  /** Stops watching and deletes this watcher's subscription. */
  close(): Promise<void>;
}

/**
 * Subscribes to an experiment's progress events. Subscribe before
 * submitting: the durable subscription then holds every event.
 */
export async function watchProgress(
  bus: Bus,
  experimentId: string,
  logger: Logger,
  onEvent: (event: Progress, round: number) => void,
): Promise<ProgressWatch> {
  const name = `researcher.${experimentId}.${randomBytes(3).toString('hex')}`;
  let finish: (end: ExperimentEnd) => void = () => {};
  const ended = new Promise<ExperimentEnd>((resolve) => {
    finish = resolve;
  });
  const subscription: Subscription = await consumeEnvelopes(
    bus,
    { name, topics: [Topics.progress(experimentId)], prefetch: 64 },
    ['progress'],
    logger,
    async (message) => {
      const event = message.body as Progress;
      onEvent(event, message.header.round);
      if (event.event === 'experiment.completed') finish({ status: 'completed', event });
      if (event.event === 'experiment.failed') finish({ status: 'failed', event });
    },
  );
  return {
    ended,
    close: async () => {
      await subscription.close();
      await bus.deleteSubscription(name);
    },
  };
}
