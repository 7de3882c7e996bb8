/**
 * A Bus that signs every frame it publishes (../security/frame-signing.ts):
 * the caller's headers (trace context…) are kept and the signature header is
 * added. Everything else is the wrapped bus's: dead-lettered copies keep the
 * original headers, so a dead letter still carries the signature it arrived
 * with, and nothing is signed twice.
 */
import type { KeyObject } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { frameSender, SIGNATURE_HEADER, signFrame } from '../security/frame-signing.ts';
import type {
  Bus,
  BusHeaders,
  IncomingMessage,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from './bus.ts';

export interface SigningBusOptions {
  /**
   * This party's id. When given, publishing a frame whose envelope names
   * another sender is refused here, rather than being rejected as
   * bad-signature by every receiver.
   */
  sender?: string;
}

export class SigningBus implements Bus {
  readonly #inner: Bus;
  readonly #signingKey: KeyObject;
  readonly #sender: string | undefined;

  constructor(inner: Bus, signingKey: KeyObject, options: SigningBusOptions = {}) {
    if (signingKey.type !== 'private' || signingKey.asymmetricKeyType !== 'ed25519') {
      throw new FedpetError(ErrorCodes.invalidConfig, 'a signing bus needs an Ed25519 private key');
    }
    this.#inner = inner;
    this.#signingKey = signingKey;
    this.#sender = options.sender;
  }

  get kind(): Bus['kind'] {
    return this.#inner.kind;
  }

  get namespace(): string {
    return this.#inner.namespace;
  }

  async publish(topic: string, body: Uint8Array, headers: BusHeaders = {}): Promise<void> {
    if (this.#sender !== undefined) {
      const sender = frameSender(body);
      if (sender !== this.#sender) {
        throw new FedpetError(
          ErrorCodes.invalidMessage,
          `refusing to sign a frame from "${sender}" with ${this.#sender}'s key (topic ${topic})`,
        );
      }
    }
    const signature = signFrame(this.#signingKey, body);
    await this.#inner.publish(topic, body, { ...headers, [SIGNATURE_HEADER]: signature });
  }

  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    return this.#inner.subscribe(options, handler);
  }

  deadLetter(message: IncomingMessage, reason: string): Promise<void> {
    return this.#inner.deadLetter(message, reason);
  }

  deleteSubscription(name: string): Promise<void> {
    return this.#inner.deleteSubscription(name);
  }

  removeNamespace(): Promise<void> {
    return this.#inner.removeNamespace();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
