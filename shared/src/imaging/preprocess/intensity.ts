import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import type { Volume } from '../volume.ts';

export interface ClipSuvOptions {
  /** Divide by maxSuv so values fall in [0, 1]. Default false. */
  scale?: boolean;
}

/**
 * SUV clipped to [0, maxSuv] (negative values are reconstruction noise; very
 * hot physiological uptake such as the bladder would otherwise dominate a
 * network's input range), optionally scaled to [0, 1]. NaN becomes 0.
 */
export function clipSuv(volume: Volume, maxSuv: number, options: ClipSuvOptions = {}): Volume {
  if (!Number.isFinite(maxSuv) || maxSuv <= 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'clipSuv: maxSuv must be a positive number');
  }
  const scale = options.scale === true ? 1 / maxSuv : 1;
  const src = volume.data;
  const out = new Float32Array(src.length);
  for (let p = 0; p < src.length; p++) {
    const v = src[p]!;
    // `!(v > 0)` also catches NaN.
    out[p] = (!(v > 0) ? 0 : Math.min(v, maxSuv)) * scale;
  }
  return { ...volume, data: out };
}

/**
 * A CT window: HU mapped linearly from [center − width/2, center + width/2]
 * onto [0, 1], clamped outside (the DICOM VOI LUT idea without its
 * half-unit offsets). NaN becomes 0.
 */
export function windowCt(volume: Volume, center: number, width: number): Volume {
  if (!Number.isFinite(center) || !Number.isFinite(width) || width <= 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'windowCt: center must be finite and width positive');
  }
  const low = center - width / 2;
  const inv = 1 / width;
  const src = volume.data;
  const out = new Float32Array(src.length);
  for (let p = 0; p < src.length; p++) {
    const t = (src[p]! - low) * inv;
    out[p] = !(t > 0) ? 0 : Math.min(t, 1);
  }
  return { ...volume, data: out };
}
