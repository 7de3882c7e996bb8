import type { LoadProgress } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';

/**
 * Shows dataset loading progress on stderr: one line rewritten in place on a
 * terminal, a line per phase (and every 10% of patients) elsewhere.
 */
export function createLoadProgressPrinter(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const live = stream.isTTY === true;
  let lastPlainDecile = -1;
  let lastPhase = '';
  const write = (text: string, permanent: boolean) => {
    if (live) stream.write(`\r\x1b[2K${label}: ${text}${permanent ? '\n' : ''}`);
    else stream.write(`${label}: ${text}\n`);
  };
  return {
    onProgress(progress: LoadProgress): void {
      const phaseChanged = progress.phase !== lastPhase;
      lastPhase = progress.phase;
      switch (progress.phase) {
        case 'hash':
          if (live || phaseChanged) write(`hashing files ${progress.done}/${progress.total}`, false);
          break;
        case 'scan':
          if (live || phaseChanged) write(`reading DICOM headers: ${progress.done} files`, false);
          break;
        case 'process': {
          const decile = Math.floor((10 * progress.done) / Math.max(1, progress.total));
          if (live || decile !== lastPlainDecile) {
            lastPlainDecile = decile;
            write(`preprocessing patient ${progress.done}/${progress.total}`, false);
          }
          break;
        }
        case 'cache-hit':
          write('preprocessed imaging found in the cache (DICOM not parsed again)', true);
          break;
        case 'cache-written':
          write('preprocessed imaging cached', true);
          break;
      }
    },
    done(): void {
      if (live && lastPhase !== 'cache-hit' && lastPhase !== 'cache-written') stream.write('\n');
    },
  };
}
