import type { DecodedMessage } from '@fedpet/shared/contracts/frame';
import type { ErrorReply, SecaggBody, UpdateBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { Logger } from '@fedpet/shared/log/logger';
import type { RoundCollector } from './round-collector.ts';
import type { SecureRound } from './secure-round.ts';

/**
 * Routes update, error and secure-aggregation messages from the aggregator's
 * one durable subscription to the round they belong to. A message for
 * a round that is not open (late, or from an earlier run) is acknowledged
 * and logged, never folded.
 */
export class UpdateInbox {
  private readonly open = new Map<string, { collector: RoundCollector; secure: SecureRound | undefined }>();

  constructor(private readonly logger: Logger) {}

  openRound(
    experimentId: string,
    round: number,
    collector: RoundCollector,
    secure?: SecureRound,
  ): () => void {
    const key = `${experimentId}/${round}`;
    const entry = { collector, secure };
    this.open.set(key, entry);
    return () => {
      if (this.open.get(key) === entry) this.open.delete(key);
    };
  }

  async handle(message: DecodedMessage): Promise<void> {
    const { header } = message;
    const entry = this.open.get(`${header.experimentId}/${header.round}`);
    if (!entry) {
      this.logger.info('message for a round that is not open, ignored', {
        experimentId: header.experimentId,
        round: header.round,
        sender: header.sender,
        type: header.type,
      });
      return;
    }
    const { collector, secure } = entry;
    if (header.type === 'update') {
      collector.addChunk(header.sender, message.body as UpdateBody, message.payload);
    } else if (header.type === 'error') {
      const body = message.body as ErrorReply;
      collector.addError(header.sender, body.hospital ?? header.sender, body.code, body.reason);
    } else if (header.type === 'secagg') {
      if (!secure) {
        throw new FedpetError(
          ErrorCodes.secaggProtocolViolation,
          `${header.sender}: secure-aggregation message in round ${header.round}, which does not use it`,
        );
      }
      secure.handle(header.sender, message.body as SecaggBody);
    }
  }
}
