import type { SecaggBody } from '../contracts/messages.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  type AdvertiseKeysMessage,
  type KeyRosterMessage,
  type RelayedSharesMessage,
  SecaggMessageTypes,
  type ShareKeysMessage,
  type UnmaskRequestMessage,
  type UnmaskResponseMessage,
} from './messages.ts';

/** The protocol messages that travel as `secagg` envelopes (masked inputs go as chunked updates). */
export type WireSecaggMessage =
  | AdvertiseKeysMessage
  | KeyRosterMessage
  | ShareKeysMessage
  | RelayedSharesMessage
  | UnmaskRequestMessage
  | UnmaskResponseMessage;

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

function advertisementToWire(message: AdvertiseKeysMessage) {
  return {
    sender: message.sender,
    encryptionKey: b64(message.encryptionKey),
    maskKey: b64(message.maskKey),
    signature: b64(message.signature),
  };
}

/** A protocol message as the body of a `secagg` envelope. */
export function secaggToWire(message: WireSecaggMessage): SecaggBody {
  switch (message.type) {
    case SecaggMessageTypes.advertiseKeys: {
      const { sender: _sender, ...rest } = advertisementToWire(message);
      return { step: 'advertise-keys', ...rest };
    }
    case SecaggMessageTypes.keyRoster:
      return { step: 'key-roster', advertisements: message.advertisements.map(advertisementToWire) };
    case SecaggMessageTypes.shareKeys:
      return {
        step: 'share-keys',
        shares: message.shares.map((s) => ({ hospital: s.hospital, ciphertext: b64(s.ciphertext) })),
      };
    case SecaggMessageTypes.relayedShares:
      return {
        step: 'relayed-shares',
        recipient: message.recipient,
        shares: message.shares.map((s) => ({ hospital: s.hospital, ciphertext: b64(s.ciphertext) })),
      };
    case SecaggMessageTypes.unmaskRequest:
      return { step: 'unmask-request', survivors: message.survivors, dropped: message.dropped };
    case SecaggMessageTypes.unmaskResponse:
      return {
        step: 'unmask-response',
        selfMaskShares: message.selfMaskShares.map((s) => ({ owner: s.owner, share: b64(s.share) })),
        maskKeyShares: message.maskKeyShares.map((s) => ({ owner: s.owner, share: b64(s.share) })),
      };
  }
}

/**
 * A `secagg` envelope body back as a protocol message. `sender` is the
 * envelope's (signature-checked) sender: a hospital's message always speaks
 * for its sender, whatever its body says.
 */
export function secaggFromWire(body: SecaggBody, sender: string): WireSecaggMessage {
  switch (body.step) {
    case 'advertise-keys':
      return {
        type: SecaggMessageTypes.advertiseKeys,
        sender,
        encryptionKey: bytes(body.encryptionKey),
        maskKey: bytes(body.maskKey),
        signature: bytes(body.signature),
      };
    case 'key-roster':
      return {
        type: SecaggMessageTypes.keyRoster,
        advertisements: body.advertisements.map((a) => ({
          type: SecaggMessageTypes.advertiseKeys,
          sender: a.sender,
          encryptionKey: bytes(a.encryptionKey),
          maskKey: bytes(a.maskKey),
          signature: bytes(a.signature),
        })),
      };
    case 'share-keys':
      return {
        type: SecaggMessageTypes.shareKeys,
        sender,
        shares: body.shares.map((s) => ({ hospital: s.hospital, ciphertext: bytes(s.ciphertext) })),
      };
    case 'relayed-shares':
      return {
        type: SecaggMessageTypes.relayedShares,
        recipient: body.recipient,
        shares: body.shares.map((s) => ({ hospital: s.hospital, ciphertext: bytes(s.ciphertext) })),
      };
    case 'unmask-request':
      return { type: SecaggMessageTypes.unmaskRequest, survivors: body.survivors, dropped: body.dropped };
    case 'unmask-response':
      return {
        type: SecaggMessageTypes.unmaskResponse,
        sender,
        selfMaskShares: body.selfMaskShares.map((s) => ({ owner: s.owner, share: bytes(s.share) })),
        maskKeyShares: body.maskKeyShares.map((s) => ({ owner: s.owner, share: bytes(s.share) })),
      };
    case 'abort':
      throw new FedpetError(ErrorCodes.secaggProtocolViolation, 'an abort is not a protocol message');
  }
}
