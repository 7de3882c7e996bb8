import type { DecodedMessage } from '@fedpet/shared/contracts/frame';
import type { ErrorReply, UpdateBody } from '@fedpet/shared/contracts/messages';
import type { Logger } from '@fedpet/shared/log/logger';
import type { RoundCollector } from './round-collector.ts';

/**
 * Routes update and error messages from the aggregator's one durable
 * subscription to the collector of the round they belong to. A message for
 * a round that is not open (late, or from an earlier run) is acknowledged
 * and logged, never folded.
 */
export class UpdateInbox {
  private readonly open = new Map<string, RoundCollector>();

  constructor(private readonly logger: Logger) {}

  openRound(experimentId: string, round: number, collector: RoundCollector): () => void {
    const key = `${experimentId}/${round}`;
    this.open.set(key, collector);
    return () => {
      if (this.open.get(key) === collector) this.open.delete(key);
    };
  }

  async handle(message: DecodedMessage): Promise<void> {
    const { header } = message;
    const collector = this.open.get(`${header.experimentId}/${header.round}`);
    if (!collector) {
      this.logger.info('message for a round that is not open, ignored', {
        experimentId: header.experimentId,
        round: header.round,
        sender: header.sender,
        type: header.type,
      });
      return;
    }
    if (header.type === 'update') {
      collector.addChunk(header.sender, message.body as UpdateBody, message.payload);
    } else if (header.type === 'error') {
      const body = message.body as ErrorReply;
      collector.addError(header.sender, body.hospital ?? header.sender, body.code, body.reason);
    }
  }
}
