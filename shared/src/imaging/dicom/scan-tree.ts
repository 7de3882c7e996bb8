import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { tryReadDicomFile } from './read-file.ts';

/** The files of one DICOM series (one SeriesInstanceUID), headers read, pixels not. */
export interface DicomSeries {
  seriesInstanceUid: string;
  studyInstanceUid?: string;
  frameOfReferenceUid?: string;
  /** Modality (0008,0060): 'PT', 'CT' or another code; 'OT' when the files do not say. */
  modality: string;
  patientId: string | undefined;
  /** Paths, sorted. */
  files: string[];
  /** Header-only datasets (no PixelData), in the order of `files`. */
  headers: NaturalDataset[];
}

/** A file that could not be used, and why (never its content). */
export interface FileProblem {
  path: string;
  reason: string;
}

export interface DicomTreeScan {
  series: DicomSeries[];
  problems: FileProblem[];
}

export interface ScanOptions {
  /** Called after each file has been looked at, with the running count. */
  onProgress?: (filesSeen: number) => void;
  /** Files read at the same time (default 8: enough to hide disk latency, little memory). */
  concurrency?: number;
}

/** DICOMDIR is the media index of PS3.10 §8, not an image: skipped without a problem. */
const DICOMDIR = 'DICOMDIR';

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

function text(dataset: NaturalDataset, keyword: string): string | undefined {
  const value = dataset[keyword];
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  const trimmed = first.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Lists the regular files under `root`, any depth, following symbolic links
 * but visiting each real folder and file once (so a link back up the tree is
 * no loop). Links are resolved only after everything reachable without them,
 * so a file seen both ways is listed under its own path, not the link's.
 * Hidden entries (dot names: .DS_Store, .git) are left out silently.
 */
async function listFiles(root: string): Promise<{ files: string[]; problems: FileProblem[] }> {
  const problems: FileProblem[] = [];
  const files: string[] = [];
  const seen = new Set<string>();
  const folders: { path: string; real: string }[] = [];
  const links: string[] = [];
  const visit = (path: string, real: string, kind: 'folder' | 'file'): void => {
    if (seen.has(real)) return;
    seen.add(real);
    if (kind === 'folder') folders.push({ path, real });
    else if (basename(path).toUpperCase() !== DICOMDIR) files.push(path);
  };
  visit(root, await realpath(root), 'folder');
  while (folders.length > 0 || links.length > 0) {
    const folder = folders.pop();
    if (folder === undefined) {
      const link = links.shift()!;
      try {
        const real = await realpath(link);
        const target = await stat(real);
        if (target.isDirectory()) visit(link, real, 'folder');
        else if (target.isFile()) visit(link, real, 'file');
      } catch {
        problems.push({ path: link, reason: 'broken symbolic link' });
      }
      continue;
    }
    let entries: Dirent[];
    try {
      entries = await readdir(folder.path, { withFileTypes: true });
    } catch (error) {
      problems.push({
        path: folder.path,
        reason: `folder cannot be read (${(error as NodeJS.ErrnoException).code})`,
      });
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHidden(entry.name)) continue;
      const path = join(folder.path, entry.name);
      const real = join(folder.real, entry.name);
      if (entry.isSymbolicLink()) links.push(path);
      else if (entry.isDirectory()) visit(path, real, 'folder');
      else if (entry.isFile()) visit(path, real, 'file');
    }
  }
  files.sort();
  return { files, problems };
}

async function checkRoot(root: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new FedpetError(ErrorCodes.datasetMissing, `DICOM folder ${root} does not exist`);
    throw new FedpetError(ErrorCodes.datasetMissing, `DICOM folder ${root} cannot be read (${code})`);
  }
  if (!info.isDirectory())
    throw new FedpetError(ErrorCodes.datasetInvalid, `DICOM folder ${root} is not a folder`);
}

type Outcome = { header: NaturalDataset; seriesInstanceUid: string } | { reason: string };

/**
 * Finds every DICOM series under `root`. Reads headers only (never pixel
 * data) and groups files by SeriesInstanceUID. A file that is not DICOM, is
 * truncated or corrupt, or has no SeriesInstanceUID becomes a FileProblem;
 * only a missing root throws (FedpetError datasetMissing).
 */
export async function scanDicomTree(root: string, options: ScanOptions = {}): Promise<DicomTreeScan> {
  await checkRoot(root);
  const { files, problems } = await listFiles(root);
  const outcomes: Outcome[] = new Array(files.length);
  let next = 0;
  let filesSeen = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      const result = await tryReadDicomFile(files[index]!, { headerOnly: true });
      if (!result.ok) outcomes[index] = { reason: result.reason };
      else {
        const seriesInstanceUid = text(result.dataset, 'SeriesInstanceUID');
        outcomes[index] = seriesInstanceUid
          ? { header: result.dataset, seriesInstanceUid }
          : { reason: 'no SeriesInstanceUID (0020,000E)' };
      }
      options.onProgress?.(++filesSeen);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 8, files.length));
  await Promise.all(Array.from({ length: workers }, worker));

  // Files are sorted, and outcomes are in file order, so each series' files come out sorted.
  const bySeries = new Map<string, DicomSeries>();
  files.forEach((path, index) => {
    const outcome = outcomes[index]!;
    if ('reason' in outcome) {
      problems.push({ path, reason: outcome.reason });
      return;
    }
    let series = bySeries.get(outcome.seriesInstanceUid);
    if (!series) {
      const { header } = outcome;
      series = {
        seriesInstanceUid: outcome.seriesInstanceUid,
        studyInstanceUid: text(header, 'StudyInstanceUID'),
        frameOfReferenceUid: text(header, 'FrameOfReferenceUID'),
        modality: text(header, 'Modality') ?? 'OT',
        patientId: text(header, 'PatientID'),
        files: [],
        headers: [],
      };
      bySeries.set(outcome.seriesInstanceUid, series);
    }
    series.files.push(path);
    series.headers.push(outcome.header);
  });
  const series = [...bySeries.values()].sort(
    (a, b) =>
      (a.patientId ?? '').localeCompare(b.patientId ?? '') ||
      (a.studyInstanceUid ?? '').localeCompare(b.studyInstanceUid ?? '') ||
      a.seriesInstanceUid.localeCompare(b.seriesInstanceUid),
  );
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { series, problems };
}
