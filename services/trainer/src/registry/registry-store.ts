import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { z } from 'zod';

const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore (≤ 64)');
const tagSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits and . _ : - (≤ 64)');

export const csvDatasetEntrySchema = z.object({
  name: nameSchema,
  kind: z.literal('csv'),
  path: z.string().min(1),
  tags: z.array(tagSchema).default([]),
  addedAt: z.string(),
});

export const petCtDatasetEntrySchema = z.object({
  name: nameSchema,
  kind: z.literal('pet-ct'),
  dicom: z.string().min(1),
  clinical: z.string().min(1),
  /** Clinical field → CSV column overrides (see clinical-columns.ts). */
  columns: z.record(z.string(), z.string()).default({}),
  tags: z.array(tagSchema).default([]),
  addedAt: z.string(),
});

export const datasetEntrySchema = z.discriminatedUnion('kind', [
  csvDatasetEntrySchema,
  petCtDatasetEntrySchema,
]);
export type DatasetEntry = z.infer<typeof datasetEntrySchema>;
export type PetCtDatasetEntry = z.infer<typeof petCtDatasetEntrySchema>;

const registryFileSchema = z.object({ version: z.literal(1), datasets: z.array(datasetEntrySchema) });

const STALE_LOCK_MS = 60_000;
const LOCK_WAIT_MS = 10_000;
let saveCounter = 0;

export { nameSchema as datasetNameSchema, tagSchema as datasetTagSchema };

/**
 * The hospital's dataset registry on its own disk: `<dataDir>/datasets.json`,
 * rewritten atomically (temporary file + rename) so a crash never leaves it
 * half-written. Derived data (the preprocessing cache) lives beside it in
 * `<dataDir>/cache`.
 */
export class RegistryStore {
  readonly file: string;
  readonly cacheDirectory: string;

  constructor(readonly dataDirectory: string) {
    this.file = join(dataDirectory, 'datasets.json');
    this.cacheDirectory = join(dataDirectory, 'cache');
  }

  async list(): Promise<DatasetEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FedpetError(ErrorCodes.invalidConfig, `cannot read the dataset registry ${this.file}`, {
        cause: error,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new FedpetError(ErrorCodes.invalidConfig, `dataset registry ${this.file} is not valid JSON`);
    }
    const parsed = registryFileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `dataset registry ${this.file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
      );
    }
    return parsed.data.datasets;
  }

  async get(name: string): Promise<DatasetEntry | undefined> {
    return (await this.list()).find((entry) => entry.name === name);
  }

  async add(entry: DatasetEntry): Promise<void> {
    await this.locked(() => this.addUnlocked(entry));
  }

  private async addUnlocked(entry: DatasetEntry): Promise<void> {
    const entries = await this.list();
    if (entries.some((existing) => existing.name === entry.name)) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `a dataset named "${entry.name}" is already registered (remove it first: fedpet-trainer dataset remove ${entry.name})`,
      );
    }
    await this.save([...entries, datasetEntrySchema.parse(entry)]);
  }

  /** Removes the entry; returns false when there was none. The DICOM files themselves are never touched. */
  async remove(name: string): Promise<boolean> {
    return this.locked(() => this.removeUnlocked(name));
  }

  private async removeUnlocked(name: string): Promise<boolean> {
    const entries = await this.list();
    const kept = entries.filter((entry) => entry.name !== name);
    if (kept.length === entries.length) return false;
    await this.save(kept);
    return true;
  }

  /**
   * Runs a read-modify-write with `datasets.json.lock` held (created with
   * O_EXCL), so two `dataset add` processes cannot lose each other's entry.
   * A lock older than STALE_LOCK_MS (its holder died) is taken over.
   */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(this.dataDirectory, { recursive: true });
    const lock = `${this.file}.lock`;
    const started = Date.now();
    for (;;) {
      try {
        const handle = await open(lock, 'wx');
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lock).then(
          (info) => Date.now() - info.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await rm(lock, { force: true });
        else if (Date.now() - started > LOCK_WAIT_MS) {
          throw new FedpetError(
            ErrorCodes.invalidConfig,
            `the dataset registry ${this.file} is locked by another command (${lock}); retry, or delete the lock if no fedpet-trainer dataset command is running`,
          );
        } else await delay(50);
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async save(datasets: DatasetEntry[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.${++saveCounter}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ version: 1, datasets }, null, 2)}\n`);
    await rename(temporary, this.file);
  }
}
