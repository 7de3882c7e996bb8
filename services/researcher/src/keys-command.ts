/**
 * `fedpet keys generate`: the identity keys of a federation, for trying
 * fedpet out and for tests. Real deployments provision keys per site; this
 * writes every party's private key into one directory, which is only
 * acceptable when one person runs the whole federation.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { generateKeySet, writeKeySet } from '@fedpet/shared/security/key-files';

export interface KeysOutput {
  write(text: string): unknown;
}

function usageError(message: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidConfig, `keys: ${message} (see fedpet keys --help)`);
}

/** "--hospitals 3" means h1..h3; otherwise a comma-separated list of ids (as in fedpet synth). */
function parseHospitals(text: string): string[] {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const count = Number(trimmed);
    if (count < 1) throw usageError('--hospitals must name at least one hospital');
    return Array.from({ length: count }, (_, index) => `h${index + 1}`);
  }
  return trimmed.split(',').map((hospital) => hospital.trim());
}

export async function runKeysCommand(args: string[], out: KeysOutput = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      hospitals: { type: 'string' },
      aggregator: { type: 'string', default: 'aggregator' },
      force: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (action !== 'generate') {
    throw usageError(action === undefined ? 'missing action "generate"' : `unknown action "${action}"`);
  }
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
  if (!values.out) throw usageError('--out is required');
  if (!values.hospitals) throw usageError('--hospitals is required');
  const keySet = generateKeySet(parseHospitals(values.hospitals), values.aggregator);
  const written = await writeKeySet(values.out, keySet, { force: values.force });
  const show = (path: string) => {
    const shown = relative(process.cwd(), path);
    return shown.startsWith('..') || shown === '' ? path : shown;
  };
  const width = Math.max(...written.privateFiles.map((file) => show(file.path).length));
  const lines = [
    `wrote identity keys for ${keySet.hospitals.length} hospitals and the aggregator "${keySet.aggregator.id}":`,
    '',
    'SECRET (mode 0600): give each file only to the party it names, never to anyone else:',
    ...written.privateFiles.map(
      (file) =>
        `  ${show(file.path).padEnd(width)}  ${file.role === 'aggregator' ? `the aggregator (${file.id}): signing and sealing keys` : `hospital ${file.id}`}`,
    ),
    '',
    'PUBLIC: give this same file to every hospital and the aggregator:',
    `  ${show(written.publicFile)}`,
  ];
  out.write(lines.join('\n') + '\n');
  return 0;
}
