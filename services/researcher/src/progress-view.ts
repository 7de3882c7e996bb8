import type { HospitalOutcome, Progress } from '@fedpet/shared/contracts/messages';

/**
 * Shows an experiment's progress. On a terminal: one line per hospital,
 * updated in place, below the permanent per-round summaries. Elsewhere (CI,
 * pipes, log files): one plain line per event.
 */
export interface ProgressView {
  show(event: Progress, round: number): void;
  /** Prints a permanent line (above the live block on a terminal). */
  note(line: string): void;
  close(): void;
}

export function formatMetrics(metrics: Record<string, number> | undefined): string {
  if (!metrics) return '';
  const parts: string[] = [];
  const add = (label: string, key: string, digits = 4) => {
    const value = metrics[key];
    if (value !== undefined && Number.isFinite(value)) parts.push(`${label} ${value.toFixed(digits)}`);
  };
  add('train loss', 'trainLoss');
  add('val loss', 'valLoss');
  add('val acc', 'valAccuracy', 3);
  add('val auc', 'valAuc', 3);
  add('C-index', 'valCIndex', 3);
  add('tdAUC 12m', 'valTdAuc365', 3);
  return parts.join('  ');
}

function describeOutcome(outcome: HospitalOutcome): string {
  if (outcome.status === 'ok') {
    const samples = outcome.numSamples ? `n=${outcome.numSamples}  ` : '';
    return `ok  ${samples}${formatMetrics(outcome.metrics)}`;
  }
  return `${outcome.status} ${outcome.code ?? ''}: ${outcome.reason ?? ''}`;
}

function roundLabel(round: number, rounds: number): string {
  return round > rounds ? 'final evaluation' : `round ${round}/${rounds}`;
}

export function createProgressView(
  stream: NodeJS.WriteStream,
  experimentId: string,
  hospitals: readonly string[],
  rounds: number,
): ProgressView {
  const width = Math.max(...hospitals.map((hospital) => hospital.length));
  const live = new Map<string, string>(hospitals.map((hospital) => [hospital, 'waiting']));
  let header = `${experimentId}: starting`;
  const tty = stream.isTTY === true;
  let drawn = 0;
  let closed = false;

  const clear = () => {
    if (!tty || drawn === 0) return;
    stream.write(`\x1b[${drawn}A`);
    for (let i = 0; i < drawn; i++) stream.write('\x1b[2K\n');
    stream.write(`\x1b[${drawn}A`);
    drawn = 0;
  };
  const draw = () => {
    if (!tty) return;
    const columns = stream.columns || 120;
    const lines = [
      header,
      ...hospitals.map((hospital) => `  ${hospital.padEnd(width)}  ${live.get(hospital)}`),
    ];
    for (const line of lines) stream.write(`${line.slice(0, columns - 1)}\n`);
    drawn = lines.length;
  };
  const note = (line: string) => {
    if (closed) return;
    clear();
    stream.write(`${line}\n`);
    draw();
  };
  const setHospital = (hospital: string, text: string, round: number) => {
    if (closed) return;
    live.set(hospital, `${roundLabel(round, rounds)}  ${text}`);
    if (tty) {
      clear();
      draw();
    } else {
      stream.write(`${experimentId} ${roundLabel(round, rounds)} ${hospital}: ${text}\n`);
    }
  };

  return {
    note,
    show(event, round) {
      switch (event.event) {
        case 'experiment.started':
          header = `${experimentId}: ${event.rounds} rounds, ${event.hospitals.length} hospitals`;
          note(header);
          break;
        case 'round.started':
          header = `${experimentId}: ${roundLabel(round, rounds)} (${event.kind})`;
          for (const hospital of hospitals)
            setHospital(hospital, event.kind === 'train' ? 'training…' : 'evaluating…', round);
          break;
        case 'hospital.reported':
          setHospital(event.outcome.hospital, describeOutcome(event.outcome), round);
          break;
        case 'round.completed': {
          const ok = event.outcomes.filter((outcome) => outcome.status === 'ok').length;
          note(
            `${roundLabel(round, rounds)}: ${formatMetrics(event.metrics)}  (${ok}/${event.outcomes.length} hospitals, ${(event.durationMs / 1000).toFixed(1)} s)`,
          );
          break;
        }
        case 'experiment.completed':
          header = `${experimentId}: completed`;
          clear();
          break;
        case 'experiment.failed':
          header = `${experimentId}: failed`;
          note(`${experimentId} failed: ${event.code}: ${event.reason}`);
          break;
        case 'experiment.resumed': {
          const kept =
            event.keptUpdates.length > 0 ? `, updates kept from ${event.keptUpdates.join(', ')}` : '';
          note(
            `${experimentId}: the aggregator restarted; resuming ${roundLabel(event.round, rounds)} (attempt ${event.attempt}${kept})`,
          );
          break;
        }
      }
    },
    close() {
      clear();
      closed = true;
    },
  };
}
