import { availableParallelism } from 'node:os';
import { encodeMessage } from '@fedpet/shared/contracts/frame';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import type { Logger } from '@fedpet/shared/log/logger';
import type { SelectedBackend } from '@fedpet/shared/ml/backend';
import type { Bus } from '@fedpet/shared/transport/bus';
import { Topics } from '@fedpet/shared/transport/topics';
import type { DatasetRegistry } from './dataset-registry.ts';

/** Node status is not about one experiment: its envelope says so with this id. */
export const NO_EXPERIMENT = 'none';

export interface Heartbeat {
  setState(state: NodeStatus['state']): Promise<void>;
  stop(): void;
}

/**
 * Publishes this worker's status (backend, GPU, dataset counts) at start,
 * on every state change and every `intervalSeconds`.
 */
export function startHeartbeat(options: {
  bus: Bus;
  hospital: string;
  workerId: string;
  backend: SelectedBackend;
  trainThreads: number;
  datasets: DatasetRegistry;
  intervalSeconds: number;
  softwareVersion: string;
  logger: Logger;
}): Heartbeat {
  let state: NodeStatus['state'] = 'ready';
  const send = async () => {
    const status: NodeStatus = {
      hospital: options.hospital,
      workerId: options.workerId,
      state,
      capabilities: {
        backend: options.backend.name,
        gpu: options.backend.gpu,
        cpus: availableParallelism(),
        trainThreads: options.trainThreads,
      },
      datasets: options.datasets.summary(),
      softwareVersion: options.softwareVersion,
    };
    const frame = encodeMessage(
      'node.status',
      { experimentId: NO_EXPERIMENT, round: 0, sender: options.hospital },
      status,
    );
    await options.bus.publish(Topics.status(options.hospital), frame);
  };
  const sendLogged = () =>
    send().catch((error: unknown) => options.logger.warn('could not publish node status', { error }));
  const timer = setInterval(sendLogged, options.intervalSeconds * 1000);
  timer.unref();
  void sendLogged();
  return {
    setState: async (next) => {
      state = next;
      await sendLogged();
    },
    stop: () => clearInterval(timer),
  };
}
