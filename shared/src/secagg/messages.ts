/**
 * The messages of one secure-aggregation round (Bonawitz et al. 2017, §4 and
 * Figure 4), as plain data: the client and server state machines take them
 * in and hand them out, and the wiring carries them over the bus, signing
 * each envelope with identity-keys.ts. Byte arrays stay Uint8Array /
 * Uint32Array; serialising them is the transport's business.
 *
 * Sets, in the paper's names: U1 hospitals whose keys were advertised, U2 ⊆
 * U1 those that sent encrypted shares, U3 ⊆ U2 those that sent a masked
 * input (the survivors), U5 ⊆ U3 those that answered the unmask request.
 */
export const SecaggMessageTypes = {
  advertiseKeys: 'secagg.advertise-keys',
  keyRoster: 'secagg.key-roster',
  shareKeys: 'secagg.share-keys',
  relayedShares: 'secagg.relayed-shares',
  maskedInput: 'secagg.masked-input',
  unmaskRequest: 'secagg.unmask-request',
  unmaskResponse: 'secagg.unmask-response',
} as const;

/** Round 0, hospital → server: c_u^PK and s_u^PK, signed with u's identity key. */
export interface AdvertiseKeysMessage {
  type: typeof SecaggMessageTypes.advertiseKeys;
  sender: string;
  /** c_u^PK, raw X25519: peers agree on share-encryption keys with it. */
  encryptionKey: Uint8Array;
  /** s_u^PK, raw X25519: peers agree on pairwise mask seeds with it. */
  maskKey: Uint8Array;
  /** Ed25519 over both keys, bound to experiment, round, sender and message type. */
  signature: Uint8Array;
}

/** Round 0 → 1, server → every hospital in U1: all advertisements, unchanged. */
export interface KeyRosterMessage {
  type: typeof SecaggMessageTypes.keyRoster;
  advertisements: AdvertiseKeysMessage[];
}

export interface AddressedCiphertext {
  /** The other end: recipient when sending, sender when relayed. */
  hospital: string;
  ciphertext: Uint8Array;
}

/** Round 1, hospital u → server: for each v ∈ U1∖{u}, AES-GCM(c_uv, share of s_u^SK ‖ share of b_u). */
export interface ShareKeysMessage {
  type: typeof SecaggMessageTypes.shareKeys;
  sender: string;
  shares: AddressedCiphertext[];
}

/** Round 1 → 2, server → v ∈ U2: the ciphertexts addressed to v by every other member of U2. */
export interface RelayedSharesMessage {
  type: typeof SecaggMessageTypes.relayedShares;
  recipient: string;
  shares: AddressedCiphertext[];
}

/** Round 2, hospital → server: y_u. The only form in which an update leaves a hospital. */
export interface MaskedInputMessage {
  type: typeof SecaggMessageTypes.maskedInput;
  sender: string;
  masked: Uint32Array;
}

/** Round 2 → 4, server → u ∈ U3: who survived (U3) and who dropped (U2∖U3). */
export interface UnmaskRequestMessage {
  type: typeof SecaggMessageTypes.unmaskRequest;
  survivors: string[];
  dropped: string[];
}

export interface OwnedShare {
  /** Whose secret this is a share of. */
  owner: string;
  /** Wire-form Shamir share (shamir.ts encodeShare). */
  share: Uint8Array;
}

/** Round 4, hospital → server: shares of b_v for v ∈ U3 and of s_v^SK for v ∈ U2∖U3 — never both for one v. */
export interface UnmaskResponseMessage {
  type: typeof SecaggMessageTypes.unmaskResponse;
  sender: string;
  selfMaskShares: OwnedShare[];
  maskKeyShares: OwnedShare[];
}

export type SecaggMessage =
  | AdvertiseKeysMessage
  | KeyRosterMessage
  | ShareKeysMessage
  | RelayedSharesMessage
  | MaskedInputMessage
  | UnmaskRequestMessage
  | UnmaskResponseMessage;
