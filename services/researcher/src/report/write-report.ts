import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderReport } from './html-report.ts';
import type { ReportInput } from './report-model.ts';

/**
 * Renders the report and writes it atomically: to a sibling temporary file
 * first, then renamed over `path`, so a reader (or a browser refresh) never
 * sees half a report. Creates the parent folder. Returns the size written.
 */
export async function writeReport(
  path: string,
  input: ReportInput,
): Promise<{ path: string; bytes: number }> {
  const html = Buffer.from(renderReport(input), 'utf8');
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, html);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { path, bytes: html.length };
}
