/**
 * Signed key advertisements (Bonawitz et al. 2017, §6 / Figure 5 Round 0:
 * σ_u = SIG.sign(d_u^SK, c_u^PK ‖ s_u^PK)). The server relays every
 * hospital's advertisement to all others; each recipient verifies it
 * against the federation's Ed25519 keys, so a server that swapped in its own
 * X25519 keys to read the shares in transit would be caught.
 */
import type { KeyObject } from 'node:crypto';
import { encodeFields } from './canonical.ts';
import { signMessage, verifyMessage } from './identity-keys.ts';
import { type AdvertiseKeysMessage, SecaggMessageTypes } from './messages.ts';

const ADVERTISED_KEYS_LABEL = 'fedpet/secagg/advertised-keys/v1';

function payload(encryptionKey: Uint8Array, maskKey: Uint8Array): Uint8Array {
  return encodeFields(ADVERTISED_KEYS_LABEL, [encryptionKey, maskKey]);
}

export function signAdvertisement(
  identityKey: KeyObject,
  experimentId: string,
  round: number,
  sender: string,
  encryptionKey: Uint8Array,
  maskKey: Uint8Array,
): AdvertiseKeysMessage {
  const signature = signMessage(
    identityKey,
    { experimentId, round, sender, messageType: SecaggMessageTypes.advertiseKeys },
    payload(encryptionKey, maskKey),
  );
  return { type: SecaggMessageTypes.advertiseKeys, sender, encryptionKey, maskKey, signature };
}

/** True only if the advertisement is signed by its sender's federation key for this experiment and round. */
export function verifyAdvertisement(
  advertisement: AdvertiseKeysMessage,
  identityKeys: ReadonlyMap<string, KeyObject>,
  experimentId: string,
  round: number,
): boolean {
  const key = identityKeys.get(advertisement.sender);
  if (key === undefined) return false;
  return verifyMessage(
    key,
    { experimentId, round, sender: advertisement.sender, messageType: SecaggMessageTypes.advertiseKeys },
    payload(advertisement.encryptionKey, advertisement.maskKey),
    advertisement.signature,
  );
}
