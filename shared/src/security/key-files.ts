/**
 * Key files of a federation.
 *
 * - `<id>.key.json`, one per party, SECRET (mode 0600): the party's Ed25519
 *   identity key (PKCS#8 PEM) and, for the aggregator, its X25519 sealing key
 *   (raw, base64) to which hospitals seal updates when secure aggregation is off
 *   (../secagg/sealed-box.ts).
 * - `federation-keys.yaml`, PUBLIC, the same for everybody: every party's
 *   Ed25519 public key and the aggregator's X25519 public key, raw base64 as
 *   RFC 8410 defines the 32 key bytes.
 *
 * Every load error is INVALID_CONFIG and names the file and the field; no
 * message ever quotes key material (not even a JSON parser's excerpt of it).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { idSchema } from '../contracts/common.ts';
import { formatIssues } from '../contracts/frame.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  exportIdentityPrivateKey,
  exportIdentityPublicKey,
  generateIdentityKeyPair,
  type IdentityKeyPair,
  importIdentityPrivateKey,
  importIdentityPublicKey,
} from '../secagg/identity-keys.ts';
import {
  exportAgreementPublicKey,
  generateAgreementKeyPair,
  importAgreementPublicKey,
} from '../secagg/key-agreement.ts';
import { privateKeyFromRaw, RAW_KEY_BYTES, rawPrivateKey } from '../secagg/raw-keys.ts';

export type PartyRole = 'hospital' | 'aggregator';

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** A freshly generated federation: private halves included, so keep it in memory only. */
export interface KeySet {
  aggregator: { id: string; signing: IdentityKeyPair; sealing: KeyPair };
  hospitals: { id: string; signing: IdentityKeyPair }[];
}

export interface LoadedIdentity {
  id: string;
  role: PartyRole;
  /** Ed25519 private key: signs every frame this party publishes. */
  signingKey: KeyObject;
  /** X25519 private key (aggregator only): opens updates sealed to it. */
  sealingKey?: KeyObject;
  /** Non-fatal problems, e.g. the file is readable by group or others. */
  warnings: string[];
}

export interface FederationKeys {
  aggregator: { id: string; signing: KeyObject; sealing: KeyObject };
  hospitals: Map<string, KeyObject>;
}

export interface WrittenKeySet {
  /** One SECRET file per party, in the order hospitals…, aggregator. */
  privateFiles: { id: string; role: PartyRole; path: string }[];
  /** The PUBLIC federation-keys.yaml. */
  publicFile: string;
}

export const FEDERATION_KEYS_FILE = 'federation-keys.yaml';
export const privateKeyFileName = (id: string): string => `${id}.key.json`;

function invalid(message: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidConfig, message);
}

function checkId(id: string, what: string): void {
  const parsed = idSchema.safeParse(id);
  if (!parsed.success) throw invalid(`${what} "${id}": ${formatIssues(parsed.error.issues)}`);
}

export function generateKeySet(hospitals: readonly string[], aggregatorId = 'aggregator'): KeySet {
  if (hospitals.length === 0) throw invalid('a key set needs at least one hospital');
  checkId(aggregatorId, 'aggregator id');
  const seen = new Set<string>([aggregatorId]);
  for (const hospital of hospitals) {
    checkId(hospital, 'hospital id');
    if (seen.has(hospital)) {
      throw invalid(
        hospital === aggregatorId
          ? `hospital id "${hospital}" is also the aggregator's id`
          : `hospital id "${hospital}" is listed twice`,
      );
    }
    seen.add(hospital);
  }
  return {
    aggregator: { id: aggregatorId, signing: generateIdentityKeyPair(), sealing: generateAgreementKeyPair() },
    hospitals: hospitals.map((id) => ({ id, signing: generateIdentityKeyPair() })),
  };
}

function rawBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function privateFileText(id: string, role: PartyRole, signing: KeyObject, sealing?: KeyObject): string {
  const document: Record<string, string> = {
    id,
    role,
    signing: exportIdentityPrivateKey(signing, 'pem'),
  };
  if (sealing) {
    const raw = rawPrivateKey('x25519', sealing, 'aggregator sealing key');
    document.sealing = rawBase64(raw);
    raw.fill(0);
  }
  return JSON.stringify(document, null, 2) + '\n';
}

const PUBLIC_HEADER = `# fedpet federation keys: PUBLIC. Give this same file to every hospital and the aggregator.
# It lists each party's Ed25519 signing key and the aggregator's X25519 sealing key
# (raw 32 bytes, base64). The matching private keys are in <id>.key.json: each of those
# is SECRET and stays with its owner only (mode 0600, never committed or mailed).
`;

function publicFileText(keySet: KeySet): string {
  const document = {
    aggregator: {
      id: keySet.aggregator.id,
      signing: exportIdentityPublicKey(keySet.aggregator.signing.publicKey, 'raw'),
      sealing: rawBase64(exportAgreementPublicKey(keySet.aggregator.sealing.publicKey)),
    },
    hospitals: Object.fromEntries(
      keySet.hospitals.map((hospital) => [
        hospital.id,
        exportIdentityPublicKey(hospital.signing.publicKey, 'raw'),
      ]),
    ),
  };
  return PUBLIC_HEADER + stringifyYaml(document);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw invalid(`${path}: cannot inspect: ${(error as NodeJS.ErrnoException).code}`);
  }
}

/** Writes a secret file that is 0600 before any key byte reaches it, even when it replaces an older file. */
async function writeSecret(path: string, text: string, force: boolean): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw invalid(`${path} already exists; refusing to overwrite a private key`);
    throw invalid(`${path}: cannot write: ${code}`);
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Writes every party's private key file and the public federation-keys.yaml.
 * Refuses (before writing anything) if a private key file is already there,
 * unless `force`: overwriting one by mistake would cut its owner off.
 */
export async function writeKeySet(
  directory: string,
  keySet: KeySet,
  options: { force?: boolean } = {},
): Promise<WrittenKeySet> {
  const force = options.force ?? false;
  const parties: { id: string; role: PartyRole; signing: KeyObject; sealing?: KeyObject }[] = [
    ...keySet.hospitals.map((hospital) => ({
      id: hospital.id,
      role: 'hospital' as const,
      signing: hospital.signing.privateKey,
    })),
    {
      id: keySet.aggregator.id,
      role: 'aggregator',
      signing: keySet.aggregator.signing.privateKey,
      sealing: keySet.aggregator.sealing.privateKey,
    },
  ];
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw invalid(`${directory}: cannot create directory: ${(error as NodeJS.ErrnoException).code}`);
  }
  const privateFiles = parties.map((party) => ({
    id: party.id,
    role: party.role,
    path: join(directory, privateKeyFileName(party.id)),
  }));
  if (!force) {
    const present: string[] = [];
    for (const file of privateFiles) if (await exists(file.path)) present.push(file.path);
    if (present.length > 0) {
      throw invalid(
        `refusing to overwrite existing private key files (${present.join(', ')}); replace them only on purpose (fedpet keys generate --force)`,
      );
    }
  }
  for (const [index, party] of parties.entries()) {
    await writeSecret(
      privateFiles[index]!.path,
      privateFileText(party.id, party.role, party.signing, party.sealing),
      force,
    );
  }
  // Public and derived from the set just written: replaced atomically, so a reader never sees half a file.
  const publicFile = join(directory, FEDERATION_KEYS_FILE);
  const temporary = `${publicFile}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, publicFileText(keySet), { encoding: 'utf8', mode: 0o644 });
    await rename(temporary, publicFile);
  } catch (error) {
    throw invalid(`${publicFile}: cannot write: ${(error as NodeJS.ErrnoException).code}`);
  }
  return { privateFiles, publicFile };
}

const privateFileSchema = z.object({
  id: idSchema,
  role: z.enum(['hospital', 'aggregator']),
  signing: z.string({ error: 'must be a PKCS#8 PEM Ed25519 private key' }).min(1, 'must not be empty'),
  sealing: z.string({ error: 'must be a base64 X25519 private key' }).min(1, 'must not be empty').optional(),
});

const base64Key = z.string({ error: 'must be a base64 raw 32-byte public key' }).min(1, 'must not be empty');

const federationKeysSchema = z.object({
  aggregator: z.object({ id: idSchema, signing: base64Key, sealing: base64Key }),
  hospitals: z
    .record(idSchema, base64Key)
    .refine((hospitals) => Object.keys(hospitals).length > 0, 'must list at least one hospital'),
});

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function decodeRaw32(text: string, what: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (bytes?.length !== RAW_KEY_BYTES) {
    throw invalid(`${what} must be ${RAW_KEY_BYTES} bytes in base64`);
  }
  return new Uint8Array(bytes);
}

/** Group/other permission bits on a secret file: worth a warning, not a refusal (shared mounts vary). */
async function permissionWarnings(path: string): Promise<string[]> {
  if (process.platform === 'win32') return [];
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return [];
  return [
    `${path} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${path}`,
  ];
}

/** Loads one party's private key file (`<id>.key.json`). */
export async function loadIdentity(path: string): Promise<LoadedIdentity> {
  const text = await readText(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The parser's message quotes the text around the error, i.e. possibly key bytes.
    throw invalid(`${path}: not valid JSON`);
  }
  const parsed = privateFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`${path}: ${formatIssues(parsed.error.issues)}`);
  const { id, role, signing, sealing } = parsed.data;
  if (role === 'aggregator' && sealing === undefined) {
    throw invalid(`${path}: sealing: the aggregator's key file must hold its X25519 sealing key`);
  }
  if (role === 'hospital' && sealing !== undefined) {
    throw invalid(`${path}: sealing: only the aggregator holds a sealing key (is this the right file?)`);
  }
  const signingKey = importIdentityPrivateKey(signing, `${path}: signing`);
  const identity: LoadedIdentity = {
    id,
    role,
    signingKey,
    warnings: await permissionWarnings(path),
  };
  if (sealing !== undefined) {
    const rawSealing = decodeRaw32(sealing, `${path}: sealing`);
    identity.sealingKey = privateKeyFromRaw('x25519', rawSealing, `${path}: sealing`);
    rawSealing.fill(0);
  }
  return identity;
}

/** Loads the public federation-keys.yaml. */
export async function loadFederationKeys(path: string): Promise<FederationKeys> {
  const text = await readText(path);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw invalid(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = federationKeysSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`${path}: ${formatIssues(parsed.error.issues)}`);
  const { aggregator, hospitals } = parsed.data;
  if (Object.hasOwn(hospitals, aggregator.id)) {
    throw invalid(`${path}: hospitals.${aggregator.id}: the aggregator's id is also listed as a hospital`);
  }
  let sealing: KeyObject;
  try {
    sealing = importAgreementPublicKey(
      decodeRaw32(aggregator.sealing, `${path}: aggregator.sealing`),
      `${path}: aggregator.sealing`,
    );
  } catch (error) {
    throw error instanceof FedpetError && error.code === ErrorCodes.invalidConfig
      ? error
      : invalid(`${path}: aggregator.sealing is not a valid X25519 public key`);
  }
  const keys: FederationKeys = {
    aggregator: {
      id: aggregator.id,
      signing: importIdentityPublicKey(aggregator.signing, `${path}: aggregator.signing`),
      sealing,
    },
    hospitals: new Map(),
  };
  // Two parties with one key could sign as each other: almost surely a copy-paste slip.
  const owners = new Map<string, string>([[fingerprint(keys.aggregator.signing), 'aggregator.signing']]);
  for (const [id, text] of Object.entries(hospitals)) {
    const field = `hospitals.${id}`;
    const key = importIdentityPublicKey(text, `${path}: ${field}`);
    const owner = owners.get(fingerprint(key));
    if (owner !== undefined) throw invalid(`${path}: ${field}: same signing key as ${owner}`);
    owners.set(fingerprint(key), field);
    keys.hospitals.set(id, key);
  }
  return keys;
}

function fingerprint(publicKey: KeyObject): string {
  return exportIdentityPublicKey(publicKey, 'raw');
}

/** The public signing key of a hospital or of the aggregator; undefined for anyone else. */
export function signingKeyOf(keys: FederationKeys, id: string): KeyObject | undefined {
  if (id === keys.aggregator.id) return keys.aggregator.signing;
  return keys.hospitals.get(id);
}

/**
 * Throws unless the federation file lists `identity` with exactly its public
 * signing key: a party started with another set's key file would otherwise
 * only find out when every peer rejects its messages.
 */
export function checkIdentityListed(identity: LoadedIdentity, keys: FederationKeys, keysPath: string): void {
  const listed =
    identity.role === 'aggregator'
      ? identity.id === keys.aggregator.id
        ? keys.aggregator.signing
        : undefined
      : keys.hospitals.get(identity.id);
  const where = identity.role === 'aggregator' ? 'aggregator' : `hospitals.${identity.id}`;
  if (listed === undefined)
    throw invalid(`${keysPath}: ${where}: ${identity.role} "${identity.id}" is not listed`);
  if (fingerprint(listed) !== fingerprint(createPublicKey(identity.signingKey))) {
    throw invalid(
      `${keysPath}: ${where}: listed signing key does not match ${identity.id}'s private key file`,
    );
  }
  if (identity.sealingKey !== undefined) {
    const own = exportAgreementPublicKey(createPublicKey(identity.sealingKey));
    if (!Buffer.from(own).equals(Buffer.from(exportAgreementPublicKey(keys.aggregator.sealing)))) {
      throw invalid(`${keysPath}: aggregator.sealing: does not match the aggregator's private sealing key`);
    }
  }
}
