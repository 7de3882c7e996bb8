import { randomUUID } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { type EnvelopeHeader, envelopeSchema } from './envelope.ts';
import { type BodyOf, bodySchemas, type MessageType } from './messages.ts';
import { majorOf, PROTOCOL_MAJOR, PROTOCOL_VERSION } from './version.ts';

/**
 * Wire frame of every bus message: a 4-byte big-endian length, the envelope
 * as UTF-8 JSON, then an optional binary payload (tensor chunks). Keeping the
 * payload binary avoids base64's 33% and a JSON parse of megabytes.
 */
export interface DecodedMessage<T extends MessageType = MessageType> {
  header: EnvelopeHeader & { type: T };
  body: BodyOf<T>;
  payload: Buffer;
}

export interface EnvelopeFields {
  experimentId: string;
  round: number;
  sender: string;
  /** The round's attempt (see envelope.ts); 0 or absent for the first run. */
  attempt?: number;
}

export function encodeMessage<T extends MessageType>(
  type: T,
  fields: EnvelopeFields,
  body: BodyOf<T>,
  payload?: Uint8Array,
): Buffer {
  const envelope = {
    v: PROTOCOL_VERSION,
    type,
    id: randomUUID(),
    experimentId: fields.experimentId,
    round: fields.round,
    ...(fields.attempt ? { attempt: fields.attempt } : {}),
    sender: fields.sender,
    sentAt: new Date().toISOString(),
    body,
  };
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  if (!payload || payload.byteLength === 0) return Buffer.concat([length, json]);
  return Buffer.concat([length, json, payload]);
}

function invalid(reason: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidMessage, reason);
}

/**
 * Validates a frame completely before anyone uses it: framing, JSON, version,
 * envelope, and the body schema of its type. Throws a FedpetError whose code
 * says why (INVALID_MESSAGE or UNSUPPORTED_VERSION).
 */
export function decodeMessage(frame: Uint8Array, expected?: readonly MessageType[]): DecodedMessage {
  const buffer = Buffer.isBuffer(frame)
    ? frame
    : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buffer.length < 4) throw invalid(`frame of ${buffer.length} bytes is shorter than its length prefix`);
  const jsonLength = buffer.readUInt32BE(0);
  if (jsonLength > buffer.length - 4) {
    throw invalid(`envelope length ${jsonLength} exceeds the frame (${buffer.length - 4} bytes)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(buffer.subarray(4, 4 + jsonLength).toString('utf8'));
  } catch (error) {
    throw invalid(`envelope is not JSON: ${(error as Error).message}`);
  }
  const version = (raw as { v?: unknown } | null)?.v;
  if (typeof version === 'string' && majorOf(version) !== undefined && majorOf(version) !== PROTOCOL_MAJOR) {
    throw new FedpetError(
      ErrorCodes.unsupportedVersion,
      `protocol version ${version} is not supported (this build speaks ${PROTOCOL_VERSION})`,
    );
  }
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) throw invalid(`envelope: ${formatIssues(envelope.error.issues)}`);
  const type = envelope.data.type as MessageType;
  const schema = bodySchemas[type];
  if (!schema) throw invalid(`unknown message type "${envelope.data.type}"`);
  if (expected && !expected.includes(type)) {
    throw invalid(`unexpected message type "${type}" (expected ${expected.join(' or ')})`);
  }
  const body = schema.safeParse(envelope.data.body);
  if (!body.success) throw invalid(`${type} body: ${formatIssues(body.error.issues)}`);
  const { body: _ignored, ...header } = envelope.data;
  return {
    header: { ...header, type },
    body: body.data as BodyOf<MessageType>,
    payload: buffer.subarray(4 + jsonLength),
  };
}

export function formatIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 10)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
