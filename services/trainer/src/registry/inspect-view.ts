import { petCtCounts } from '@fedpet/shared/imaging/pipeline/patient-table';
import type { PetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import type { SuvDerivation } from '@fedpet/shared/imaging/suv/suv-factor';
import type { PetCtDatasetEntry } from './registry-store.ts';

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function describeSuv(factor: number, d: SuvDerivation): string {
  const parts = [`factor ${factor.toExponential(5)}`, d.units, `decay ${d.decayCorrection}`];
  if (d.scanTime) parts.push(`scan ${d.scanTime.date} ${d.scanTime.time} (${d.scanTime.source})`);
  if (d.injectionTime)
    parts.push(`injection ${d.injectionTime.date} ${d.injectionTime.time} (${d.injectionTime.source})`);
  if (d.midnightRuleApplied) parts.push('injection the day before (midnight rule)');
  if (d.decaySeconds !== null) parts.push(`Δt ${fixed(d.decaySeconds / 60, 1)} min`);
  if (d.injectedDoseBq !== null) parts.push(`dose ${fixed(d.injectedDoseBq / 1e6, 1)} MBq`);
  if (d.decayedDoseBq !== null) parts.push(`decayed ${fixed(d.decayedDoseBq / 1e6, 1)} MBq`);
  if (d.weightKg !== null) parts.push(`weight ${d.weightKg} kg`);
  if (d.philipsFactor) parts.push(`${d.philipsFactor.source} = ${d.philipsFactor.value}`);
  return parts.join(' · ');
}

/** One line after `dataset add`: what was found and what is usable. */
export function formatLoadSummary(entry: PetCtDatasetEntry, dataset: PetCtDataset): string {
  const counts = petCtCounts(dataset.patients);
  const bad = dataset.patients.filter((p) => !p.usable).length;
  const lines = [
    `registered pet-ct dataset "${entry.name}": ${dataset.patients.length} patients, ${counts.patients} usable` +
      ` (${counts.events} progression events), ${dataset.manifest.files} files` +
      `${dataset.fromCache ? ' (preprocessing reused from the cache)' : `, preprocessed in ${fixed(dataset.manifest.secondsToBuild, 1)} s`}`,
  ];
  if (bad > 0 || dataset.manifest.fileProblems.length > 0 || dataset.clinicalProblems.length > 0) {
    lines.push(
      `  ${bad} patient(s) not usable, ${dataset.manifest.fileProblems.length} file(s) skipped, ` +
        `${dataset.clinicalProblems.length} clinical row(s) rejected: see fedpet-trainer dataset inspect ${entry.name}`,
    );
  }
  return lines.join('\n');
}

/** The hospital operator's per-patient report (stays on this machine: it names patients). */
export function formatInspectText(dataset: PetCtDataset, label: string): string {
  const m = dataset.manifest;
  const counts = petCtCounts(dataset.patients);
  const out: string[] = [
    `Dataset ${label}`,
    `  content hash ${m.hash.slice(0, 16)}… · ${m.files} files, ${fixed(m.bytes / 1e6, 1)} MB · ${dataset.patients.length} patients, ${counts.patients} usable, ${counts.events} progression events`,
    `  imaging ${dataset.fromCache ? 'from the cache' : `preprocessed in ${fixed(m.secondsToBuild, 1)} s`} · tensors: MIP ${m.tensorShapes.mip.join('×')}, PET crop ${m.tensorShapes.petCrop.join('×')}${m.tensorShapes.ctCrop.length > 0 ? `, CT crop ${m.tensorShapes.ctCrop.join('×')}` : ''}`,
    '',
  ];
  for (const patient of dataset.patients) {
    out.push(`${patient.patientId}  ${patient.usable ? 'ok' : 'NOT USABLE'}`);
    const record = patient.imaging;
    if (record && record.seriesFound.length > 0) {
      const series = record.seriesFound.map((s) => `${s.modality} ${s.seriesInstanceUid} (${s.files} files)`);
      out.push(`  series    ${series.join(', ')}`);
    }
    const imaging = record?.imaging;
    if (imaging) {
      out.push(`  SUV       ${describeSuv(imaging.suvFactor, imaging.suvDerivation)}`);
      for (const note of imaging.suvDerivation.notes) out.push(`            note: ${note}`);
      const f = imaging.features;
      const s = f.segmentations;
      out.push(
        `  features  SUVmax ${fixed(f.suvMax)} · SUVmean ${fixed(f.suvMean)} · SUVpeak ${fixed(f.suvPeak)} · ` +
          `lesions ${s.isocontour.lesionCount} · MTV41% ${fixed(s.isocontour.totalMtvMl, 1)} mL · TLG ${fixed(s.isocontour.totalTlg, 1)} · ` +
          `MTV≥2.5 ${fixed(s.fixedLow.totalMtvMl, 1)} mL (${s.fixedLow.lesionCount}) · MTV≥4.0 ${fixed(s.fixedHigh.totalMtvMl, 1)} mL (${s.fixedHigh.lesionCount})`,
      );
      for (const lesion of s.isocontour.lesions) {
        out.push(
          `            lesion ${lesion.lesion}: ${fixed(lesion.mtvMl, 1)} mL, SUVmax ${fixed(lesion.suvMax)}, SUVmean ${fixed(lesion.suvMean)}, TLG ${fixed(lesion.tlg, 1)}`,
        );
      }
      if (f.excluded.physiological.count > 0) {
        out.push(
          `            excluded as physiological uptake: ${f.excluded.physiological.count} region(s), ${fixed(f.excluded.physiological.volumeMl, 0)} mL`,
        );
      }
    }
    if (patient.clinical) {
      const c = patient.clinical;
      out.push(
        `  clinical  line ${c.line} · age ${c.age} · ${c.sex} · ECOG ${c.ecog} · PD-L1 ${c.pdl1Tps ?? 'n/a'}% · ${c.histology ?? 'n/a'} · line ${c.treatmentLine ?? 'n/a'} · PFS ${c.pfsDays} d (${c.pfsEvent ? 'event' : 'censored'}) · ${c.bestResponse ?? 'NE'}`,
      );
    }
    for (const problem of patient.problems) out.push(`  error     ${problem}`);
    for (const warning of patient.warnings) out.push(`  warning   ${warning}`);
  }
  if (m.fileProblems.length > 0) {
    out.push('', `Files skipped (${m.fileProblems.length}):`);
    for (const problem of m.fileProblems) out.push(`  ${problem.path}: ${problem.reason}`);
  }
  if (m.seriesWithoutPatient > 0)
    out.push('', `${m.seriesWithoutPatient} series without a PatientID were ignored`);
  const orphanRows = dataset.clinicalProblems.filter((p) => p.patientId === undefined);
  if (orphanRows.length > 0) {
    out.push('', 'Clinical rows rejected:');
    for (const problem of orphanRows) out.push(`  line ${problem.line}: ${problem.reason}`);
  }
  return out.join('\n');
}

/** The same report as JSON (tensors left out). */
export function formatInspectJson(dataset: PetCtDataset): string {
  const { tensors: _tensors, ...rest } = dataset;
  return JSON.stringify(rest, null, 2);
}
