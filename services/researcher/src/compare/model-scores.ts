import { rocAuc } from '@fedpet/shared/ml/metrics';
import type { ModelSpec } from '@fedpet/shared/ml/plans/model-spec';
import { concatPlanData, survivalColumns } from '@fedpet/shared/ml/plans/plan-data';
import { predict } from '@fedpet/shared/ml/train';
import { concordanceIndex } from '@fedpet/shared/survival/concordance';
import { timeDependentAuc } from '@fedpet/shared/survival/time-dependent-auc';
import type { LayersModel } from '@tensorflow/tfjs';
import type { HospitalSplit } from './hospital-data.ts';

/** How well a set of risk scores ranks every hospital's held-out patients. */
export interface Scores {
  /** Harrell's C over the comparable pairs within each hospital: Σ concordant / Σ comparable. */
  cIndex: number;
  tdAuc182: number;
  tdAuc365: number;
  /** Classification plans: ROC AUC over all held-out rows. */
  auc: number;
}

/** Scores risk values given per hospital (aligned with each validation split's rows). */
export function scoreRisks(
  splits: readonly HospitalSplit[],
  risks: readonly Float64Array[],
  spec: ModelSpec,
): Scores {
  const pooled = concatPlanData(splits.map((split) => split.validation));
  const allRisk = new Float64Array(pooled.rows);
  let at = 0;
  for (const risk of risks) {
    allRisk.set(risk, at);
    at += risk.length;
  }
  if (spec.objective !== 'cox') {
    return {
      cIndex: Number.NaN,
      tdAuc182: Number.NaN,
      tdAuc365: Number.NaN,
      auc: rocAuc(pooled.target, allRisk) ?? Number.NaN,
    };
  }
  let concordant = 0;
  let comparable = 0;
  splits.forEach((split, index) => {
    const { time, event } = survivalColumns(split.validation);
    const c = concordanceIndex(risks[index]!, time, event);
    concordant += c.concordant;
    comparable += c.comparable;
  });
  const { time, event } = survivalColumns(pooled);
  return {
    cIndex: comparable > 0 ? concordant / comparable : Number.NaN,
    tdAuc182: timeDependentAuc(allRisk, time, event, 182).auc,
    tdAuc365: timeDependentAuc(allRisk, time, event, 365).auc,
    auc: Number.NaN,
  };
}

/** A model's risk score for every held-out patient of every hospital. */
export async function modelRisks(
  model: LayersModel,
  splits: readonly HospitalSplit[],
): Promise<Float64Array[]> {
  const risks: Float64Array[] = [];
  for (const split of splits) risks.push(Float64Array.from(await predict(model, split.validation)));
  return risks;
}
