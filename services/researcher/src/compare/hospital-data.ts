import { join } from 'node:path';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import { resolveClinicalColumns } from '@fedpet/shared/imaging/clinical/clinical-columns';
import { petCtPlanData } from '@fedpet/shared/imaging/pipeline/patient-table';
import { loadPetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import type { ModelSpec } from '@fedpet/shared/ml/plans/model-spec';
import { csvPlanData } from '@fedpet/shared/ml/plans/plan-columns';
import { type PlanData, splitPlanData } from '@fedpet/shared/ml/plans/plan-data';
import type { Federation } from '../federation.ts';

export interface HospitalSplit {
  hospital: string;
  train: PlanData;
  validation: PlanData;
}

/**
 * Every hospital's examples and its train/validation split, exactly as its
 * trainer builds them (same pipeline, same cache, same seed). Reading all
 * hospitals' data in one process is what the centralized and local-only
 * baselines need; it is only possible — and only meant — for a simulated
 * federation such as fedpet's synthetic cohort.
 */
export async function loadHospitalSplits(
  federation: Federation,
  spec: ExperimentSpec,
  modelSpec: ModelSpec,
): Promise<HospitalSplit[]> {
  const splits: HospitalSplit[] = [];
  for (const id of spec.hospitals) {
    const hospital = federation.hospitals.find((candidate) => candidate.id === id)!;
    const dataset = hospital.datasets[spec.dataset]!;
    let data: PlanData;
    if (typeof dataset === 'string') data = await csvPlanData(dataset, modelSpec);
    else {
      const loaded = await loadPetCtDataset({
        dicomDirectory: dataset.dicom,
        clinicalFile: dataset.clinical,
        columns: resolveClinicalColumns(dataset.columns),
        cacheDirectory: join(hospital.dataDir!, 'cache'),
      });
      data = petCtPlanData(loaded, modelSpec, spec.dataset).data;
    }
    splits.push({ hospital: id, ...splitPlanData(data, spec.validationFraction, spec.seed) });
  }
  return splits;
}
