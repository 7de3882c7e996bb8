import type { Progress } from '../../../shared/src/contracts/messages.ts';
import { createLogger } from '../../../shared/src/log/logger.ts';
import type { Bus, Subscription } from '../../../shared/src/transport/bus.ts';
import { consumeEnvelopes } from '../../../shared/src/transport/consume.ts';
import { createBus } from '../../../shared/src/transport/create-bus.ts';

/** A progress event as the researcher saw it. */
export interface ProgressRecord {
  /** When it arrived here (ms since the epoch). */
  receivedAt: number;
  /** When the aggregator made it (the envelope's sentAt). */
  sentAt: number;
  experimentId: string;
  round: number;
  event: Progress;
}

const SUBSCRIPTION = 'chaos.progress';

/**
 * Records every progress event of a namespace, as a researcher's `fedpet
 * submit --watch` receives them, through the same reconnecting bus adapter
 * (so it rides out a RabbitMQ restart like the services do). The time to
 * recover from a fault is read from these records.
 */
export class ProgressRecorder {
  readonly events: ProgressRecord[] = [];
  private readonly waiters = new Set<() => void>();

  private subscription: Subscription | undefined;

  private constructor(private readonly bus: Bus) {}

  static async start(busUrl: string, namespace: string): Promise<ProgressRecorder> {
    const bus = await createBus(busUrl, { namespace, clientName: 'chaos-progress' });
    const recorder = new ProgressRecorder(bus);
    recorder.subscription = await consumeEnvelopes(
      bus,
      { name: SUBSCRIPTION, topics: ['progress.#'], prefetch: 64 },
      ['progress'],
      createLogger({ service: 'chaos-progress', level: 'error' }),
      async (message) => {
        recorder.events.push({
          receivedAt: Date.now(),
          sentAt: Date.parse(message.header.sentAt),
          experimentId: message.header.experimentId,
          round: message.header.round,
          event: message.body as Progress,
        });
        for (const wake of [...recorder.waiters]) wake();
      },
    );
    return recorder;
  }

  /** The first record (already seen or still to come) that matches, or undefined after `timeoutMs`. */
  async waitFor(
    matches: (record: ProgressRecord) => boolean,
    timeoutMs: number,
  ): Promise<ProgressRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(matches);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    await this.bus.deleteSubscription(SUBSCRIPTION).catch(() => {});
    await this.bus.close();
  }
}
