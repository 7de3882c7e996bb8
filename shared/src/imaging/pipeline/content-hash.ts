import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Every regular file under `root` (any nesting, hidden entries skipped), as
 * sorted relative paths. Symbolic links are followed, as the DICOM scan
 * follows them: the hash must cover every byte the scan reads, or a tree of
 * links would hash to the same value whatever it points at. Each real folder
 * is visited once, so a link back up the tree is no loop.
 */
export async function listFilesRecursively(root: string): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const visit = async (directory: string): Promise<void> => {
    const real = await realpath(directory);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = await readdir(directory, { withFileTypes: true });
    // Sorted, so which path a folder reachable twice is listed under does not depend on readdir order.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(directory, entry.name);
      // A broken link is skipped here; the scan reports it.
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (target?.isDirectory()) await visit(path);
      else if (target?.isFile()) files.push(relative(root, path).split(sep).join('/'));
    }
  };
  await visit(root);
  return files.sort();
}

/** Files up to this size are read whole; bigger ones are streamed. */
const SMALL_FILE_BYTES = 8 << 20;
const READ_AHEAD = 16;

async function hashFileInto(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

export interface InputsDigest {
  /** SHA-256 (hex) over every file's relative path, size and bytes, and the settings key. */
  hash: string;
  files: number;
  bytes: number;
}

/**
 * The identity of one dataset version: a content hash of the DICOM tree and the
 * preprocessing settings. Any changed byte, added or
 * removed file, or changed setting gives a new hash, so cached results can
 * never be served for different inputs. Hashing reads the files but does not
 * parse them (about a gigabyte a second), which is what makes a cache hit cheap.
 */
export async function digestInputs(
  dicomRoot: string,
  settingsKey: string,
  onProgress?: (filesHashed: number, filesTotal: number) => void,
): Promise<InputsDigest> {
  const hash = createHash('sha256');
  hash.update(`settings\0${settingsKey}\0`);
  const files = await listFilesRecursively(dicomRoot);
  let bytes = 0;
  // Files are read a few at a time (opening a file costs more than hashing a
  // slice) but hashed strictly in sorted order, so the digest is stable.
  const reads: Promise<Buffer | undefined>[] = [];
  const startRead = (index: number) => {
    const file = files[index];
    if (file === undefined) return;
    const path = join(dicomRoot, file);
    reads[index] = stat(path).then((info) => (info.size <= SMALL_FILE_BYTES ? readFile(path) : undefined));
  };
  for (let i = 0; i < READ_AHEAD; i++) startRead(i);
  for (const [index, file] of files.entries()) {
    const content = await reads[index]!;
    delete reads[index];
    startRead(index + READ_AHEAD);
    const path = join(dicomRoot, file);
    if (content) {
      hash.update(`file\0${file}\0${content.byteLength}\0`);
      hash.update(content);
      bytes += content.byteLength;
    } else {
      const size = (await stat(path)).size;
      hash.update(`file\0${file}\0${size}\0`);
      await hashFileInto(hash, path);
      bytes += size;
    }
    if (onProgress && (index % 500 === 499 || index === files.length - 1))
      onProgress(index + 1, files.length);
  }
  return { hash: hash.digest('hex'), files: files.length, bytes };
}
