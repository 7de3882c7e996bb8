import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImagingManifest } from './imaging-manifest.ts';

const MANIFEST = 'manifest.json';
const TENSORS = 'tensors.bin';

/**
 * Preprocessed imaging on the hospital's disk, one folder per content hash:
 * manifest.json (per patient: series, SUV derivation, radiomics, problems) and
 * tensors.bin (every patient's fixed-size float32 arrays, back to back). A
 * folder appears only complete (written under a temporary name, then renamed),
 * so a crash mid-write is a cache miss, never a corrupt hit.
 */
export class ImagingCache {
  constructor(readonly directory: string) {}

  private folder(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a SHA-256 hex digest: ${hash}`);
    return join(this.directory, hash);
  }

  async read(hash: string): Promise<{ manifest: ImagingManifest; tensors: Float32Array } | undefined> {
    const folder = this.folder(hash);
    let manifestText: string;
    let tensorBytes: Buffer;
    try {
      manifestText = await readFile(join(folder, MANIFEST), 'utf8');
      tensorBytes = await readFile(join(folder, TENSORS));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let manifest: ImagingManifest;
    try {
      manifest = JSON.parse(manifestText) as ImagingManifest;
    } catch {
      // Damaged on disk (a full disk, a copy cut short): rebuild rather than fail the dataset.
      return undefined;
    }
    if (manifest?.hash !== hash || tensorBytes.byteLength !== manifest.tensorFloats * 4) return undefined;
    // Copy into an aligned buffer: Buffer slices may start at any byte offset.
    const tensors = new Float32Array(manifest.tensorFloats);
    new Uint8Array(tensors.buffer).set(tensorBytes);
    return { manifest, tensors };
  }

  async write(manifest: ImagingManifest, tensors: Float32Array): Promise<void> {
    const folder = this.folder(manifest.hash);
    const temporary = `${folder}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(temporary, { recursive: true });
    try {
      await writeFile(
        join(temporary, TENSORS),
        new Uint8Array(tensors.buffer, tensors.byteOffset, tensors.byteLength),
      );
      await writeFile(join(temporary, MANIFEST), `${JSON.stringify(manifest)}\n`);
      await rm(folder, { recursive: true, force: true });
      await rename(temporary, folder);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  }
}
