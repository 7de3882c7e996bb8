import { createHash } from 'node:crypto';
import type { Plan } from '../../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';

export type Objective = 'bce' | 'mse' | 'cox';
export type Scaling = Record<string, { center: number; scale: number }>;

/** Per-patient image inputs a plan takes from a PET-CT dataset's cache. */
export type ImageInput =
  | { kind: 'mip'; size: number }
  | { kind: 'crop'; size: number; channels: readonly ('pet' | 'ct')[] };

export type TargetSpec =
  | { kind: 'label'; column: string }
  | { kind: 'survival'; time: string; event: string };

/**
 * What every gradient-trained plan comes down to: which inputs (tabular
 * columns, images), which target, which network and which loss. Plans stay
 * declarative — only this description and the weights travel, never code.
 */
export interface ModelSpec {
  planKind: Plan['kind'];
  objective: Objective;
  columns: readonly string[];
  scaling: Scaling;
  target: TargetSpec;
  image: ImageInput | undefined;
  hiddenUnits: readonly number[];
  activation: 'relu' | 'tanh' | 'sigmoid';
  convFilters: readonly number[];
  denseUnits: number;
  ties: 'breslow' | 'efron';
  requiresGpu: boolean;
}

/** RECIST CR/PR, or durable clinical benefit (no progression for 6 months): columns of PET-CT datasets. */
const RESPONSE_COLUMN = { 'recist-response': 'responder', 'durable-benefit': 'durable_benefit' } as const;

/** The model description of a gradient-trained plan (exact-cox is fitted by Newton–Raphson instead). */
export function modelSpecOf(plan: Plan): ModelSpec {
  const base = {
    planKind: plan.kind,
    hiddenUnits: [] as number[],
    activation: 'relu' as const,
    convFilters: [] as number[],
    denseUnits: 0,
    ties: 'efron' as const,
    requiresGpu: false,
    image: undefined,
  };
  switch (plan.kind) {
    case 'tabular-mlp':
      return {
        ...base,
        objective: plan.task === 'binary-classification' ? 'bce' : 'mse',
        columns: plan.features,
        scaling: plan.scaling,
        target: { kind: 'label', column: plan.label },
        hiddenUnits: plan.hiddenUnits,
        activation: plan.activation,
      };
    case 'response-classifier':
      return {
        ...base,
        objective: 'bce',
        columns: plan.features,
        scaling: plan.scaling,
        target: { kind: 'label', column: RESPONSE_COLUMN[plan.outcome] },
        hiddenUnits: plan.hiddenUnits,
        activation: plan.activation,
      };
    case 'clinical-cox':
      return {
        ...base,
        objective: 'cox',
        columns: plan.features,
        scaling: plan.scaling,
        target: { kind: 'survival', time: plan.time, event: plan.event },
        ties: plan.ties,
      };
    case 'pet-mip-cnn':
      return {
        ...base,
        objective: 'cox',
        columns: plan.clinicalFeatures,
        scaling: plan.scaling,
        target: { kind: 'survival', time: plan.time, event: plan.event },
        image: { kind: 'mip', size: plan.mipSize },
        convFilters: plan.filters,
        denseUnits: plan.denseUnits,
        ties: plan.ties,
      };
    case 'pet-ct-3dcnn':
      return {
        ...base,
        objective: 'cox',
        columns: plan.clinicalFeatures,
        scaling: plan.scaling,
        target: { kind: 'survival', time: plan.time, event: plan.event },
        image: { kind: 'crop', size: plan.cropSize, channels: plan.channels },
        convFilters: plan.filters,
        denseUnits: plan.denseUnits,
        ties: plan.ties,
        requiresGpu: plan.requiresGpu,
      };
    case 'exact-cox':
      throw new FedpetError(
        ErrorCodes.invalidSpec,
        'exact-cox is fitted by federated Newton–Raphson, not trained as a network',
      );
  }
}

/** The shape-deciding part of a tabular MLP plan (what tests and tools build models from). */
export type MlpShape = Pick<
  Extract<Plan, { kind: 'tabular-mlp' }>,
  'task' | 'features' | 'hiddenUnits' | 'activation'
> & {
  label?: string;
};

/** A model spec from a spec, a plan, or the bare shape of a tabular MLP. */
export function asModelSpec(value: ModelSpec | Plan | MlpShape): ModelSpec {
  if ('objective' in value) return value;
  if ('kind' in value) return modelSpecOf(value);
  return modelSpecOf({ kind: 'tabular-mlp', label: 'label', scaling: {}, ...value });
}

/** Every column a model spec reads from a dataset: inputs, then the target's. */
export function columnsRead(spec: ModelSpec): string[] {
  const target = spec.target.kind === 'label' ? [spec.target.column] : [spec.target.time, spec.target.event];
  return [...spec.columns, ...target];
}

/** A plan's identity: SHA-256 of its canonical JSON (keys sorted), so equal plans hash equal wherever they are written. */
export function planHash(plan: Plan): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value as object)
          .sort()
          .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(plan)))
    .digest('hex');
}
