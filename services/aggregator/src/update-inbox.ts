import { setTimeout as sleep } from 'node:timers/promises';
import type { DecodedMessage } from '@fedpet/shared/contracts/frame';
import type { ErrorReply, SecaggBody, UpdateBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { Logger } from '@fedpet/shared/log/logger';
import type { RoundCollector } from './round-collector.ts';
import type { SecureRound } from './secure-round.ts';

export interface UpdateInboxOptions {
  /**
   * Whether a round that is not open yet will be opened soon by this
   * aggregator (a checkpointed experiment about to be resumed): its messages
   * then wait for it instead of being dropped.
   */
  willOpen?: (experimentId: string, round: number) => Promise<boolean>;
  /** How long such a message waits for its round (default 60 s). */
  waitForOpenMs?: number;
  /**
   * The aggregator is shutting down: a message still waiting for its round
   * is handed back to the broker (a retryable failure) for the next aggregator.
   */
  signal?: AbortSignal;
}

/**
 * Routes update, error and secure-aggregation messages from the aggregator's
 * one durable subscription to the round they belong to. A message for a
 * round that is closed (late, or from an earlier run) is acknowledged,
 * logged with ROUND_CLOSED and counted, never folded. After a restart,
 * messages for the round being resumed wait until it is open again.
 */
export class UpdateInbox {
  private readonly open = new Map<string, { collector: RoundCollector; secure: SecureRound | undefined }>();
  private readonly closedCounts = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly options: UpdateInboxOptions = {},
  ) {}

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

  /** Messages of the experiment that arrived for a closed round (late updates, copies), since start. */
  closedRoundMessages(experimentId: string): number {
    return this.closedCounts.get(experimentId) ?? 0;
  }

  async handle(message: DecodedMessage): Promise<void> {
    const { header } = message;
    const key = `${header.experimentId}/${header.round}`;
    let entry = this.open.get(key);
    if (!entry && (await this.options.willOpen?.(header.experimentId, header.round))) {
      const until = Date.now() + (this.options.waitForOpenMs ?? 60_000);
      while (!entry && Date.now() < until) {
        if (this.options.signal?.aborted) {
          // Not acknowledged: the broker keeps it for the aggregator that resumes the round.
          throw new Error('the aggregator is shutting down: message left to the next aggregator');
        }
        await sleep(200);
        entry = this.open.get(key);
      }
    }
    if (!entry) {
      this.closedCounts.set(header.experimentId, this.closedRoundMessages(header.experimentId) + 1);
      this.logger.info('message for a round that is not open, ignored', {
        code: ErrorCodes.roundClosed,
        experimentId: header.experimentId,
        round: header.round,
        sender: header.sender,
        type: header.type,
      });
      return;
    }
    const { collector, secure } = entry;
    const attempt = header.attempt ?? 0;
    if (header.type === 'update') {
      await collector.addChunk(header.sender, message.body as UpdateBody, message.payload, attempt);
    } else if (header.type === 'error') {
      const body = message.body as ErrorReply;
      collector.addError(header.sender, body.hospital ?? header.sender, body.code, body.reason, attempt);
    } else if (header.type === 'secagg') {
      if (!secure) {
        throw new FedpetError(
          ErrorCodes.secaggProtocolViolation,
          `${header.sender}: secure-aggregation message in round ${header.round}, which does not use it`,
        );
      }
      if (attempt !== secure.attempt) return; // the old run of a restarted round
      secure.handle(header.sender, message.body as SecaggBody);
    }
  }
}
