import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { type Vec3, type Volume, voxelCount } from '../volume.ts';
import type { Image2D } from './image2d.ts';

type Axis = 0 | 1 | 2;

/** Where resized content sits in a fixed-size output: its size and its offset (voxels), per axis. */
export interface FitLayout {
  size: Vec3;
  offset: Vec3;
}

/**
 * Layout of a grid of `dims` voxels of `spacing` mm fitted into `target`
 * voxels, preserving its physical aspect ratio: one scale (output voxels per
 * mm) for all axes, the largest that fits, each axis's size rounded to whole
 * voxels (at least 1), and the content centred (odd leftovers put the extra
 * voxel of padding after the content).
 */
export function fitLayout(dims: Vec3, spacing: Vec3, target: Vec3): FitLayout {
  return layoutOver(dims, spacing, target, [0, 1, 2]);
}

/** fitLayout over some axes only; the others must already have their target size (a 2D image's single slice). */
function layoutOver(dims: Vec3, spacing: Vec3, target: Vec3, axes: Axis[]): FitLayout {
  for (const axis of [0, 1, 2] as Axis[]) {
    if (!Number.isInteger(target[axis]) || target[axis] < 1) {
      throw new FedpetError(ErrorCodes.invalidConfig, 'fixed size: target sizes must be positive integers');
    }
    if (!Number.isInteger(dims[axis]) || dims[axis] < 1 || !(spacing[axis] > 0)) {
      throw new FedpetError(ErrorCodes.datasetInvalid, 'fixed size: input dims and spacing must be positive');
    }
  }
  const extent = (a: Axis): number => dims[a] * spacing[a];
  const scale = Math.min(...axes.map((a) => target[a] / extent(a)));
  const size = (a: Axis): number =>
    axes.includes(a) ? Math.min(target[a], Math.max(1, Math.round(extent(a) * scale))) : dims[a];
  const s: Vec3 = [size(0), size(1), size(2)];
  return {
    size: s,
    offset: [
      Math.floor((target[0] - s[0]) / 2),
      Math.floor((target[1] - s[1]) / 2),
      Math.floor((target[2] - s[2]) / 2),
    ],
  };
}

/**
 * Interpolation taps for resizing one axis from `from` to `to` samples:
 * sample u's centre maps to x = (u + ½)·from/to − ½ (edges of the first and
 * last samples line up), and it takes a triangle-filter average of the source
 * around x, the triangle's half-width being max(1, from/to). Upsampling is thus
 * plain linear interpolation; downsampling averages over the footprint of the
 * output sample instead of skipping source samples (no aliasing, so a small
 * hot lesion is dimmed, not lost). Taps outside the source are dropped and the
 * rest renormalised.
 */
function axisTaps(from: number, to: number): { index: Int32Array; weight: Float64Array; taps: number } {
  const ratio = from / to;
  const support = Math.max(1, ratio);
  const taps = 2 * Math.ceil(support) + 1;
  const index = new Int32Array(to * taps);
  const weight = new Float64Array(to * taps);
  for (let u = 0; u < to; u++) {
    const x = (u + 0.5) * ratio - 0.5;
    const first = Math.ceil(x - support);
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const s = first + t;
      const w = s < 0 || s >= from ? 0 : Math.max(0, 1 - Math.abs(s - x) / support);
      index[u * taps + t] = s < 0 ? 0 : s >= from ? from - 1 : s;
      weight[u * taps + t] = w;
      sum += w;
    }
    for (let t = 0; t < taps; t++) weight[u * taps + t] = weight[u * taps + t]! / sum;
  }
  return { index, weight, taps };
}

/** Resizes a dense [nx, ny, nz] array (x fastest) along one axis. */
function resizeAxis(
  data: Float32Array,
  dims: Vec3,
  axis: Axis,
  to: number,
): { data: Float32Array; dims: Vec3 } {
  const from = dims[axis];
  const outDims: Vec3 = [axis === 0 ? to : dims[0], axis === 1 ? to : dims[1], axis === 2 ? to : dims[2]];
  if (from === to) return { data, dims };
  const { index, weight, taps } = axisTaps(from, to);
  const out = new Float32Array(outDims[0] * outDims[1] * outDims[2]);
  // Source element (…, s, …) along `axis` sits at inner + s·stride + outer·from·stride.
  const stride = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
  const outer = axis === 2 ? 1 : axis === 1 ? dims[2] : dims[1] * dims[2];
  for (let o = 0; o < outer; o++) {
    const srcBase = o * from * stride;
    const dstBase = o * to * stride;
    for (let u = 0; u < to; u++) {
      const row = u * taps;
      for (let inner = 0; inner < stride; inner++) {
        let acc = 0;
        for (let t = 0; t < taps; t++) {
          const w = weight[row + t]!;
          if (w !== 0) acc += w * data[srcBase + index[row + t]! * stride + inner]!;
        }
        out[dstBase + u * stride + inner] = acc;
      }
    }
  }
  return { data: out, dims: outDims };
}

/** Resizes the content, then pads it centred into `target` with `fill`. */
function fitArray(
  data: Float32Array,
  dims: Vec3,
  layout: FitLayout,
  target: Vec3,
  fill: number,
): Float32Array {
  let current = { data, dims };
  for (const axis of [0, 1, 2] as Axis[])
    current = resizeAxis(current.data, current.dims, axis, layout.size[axis]);
  const [sx, sy, sz] = layout.size;
  const [ox, oy, oz] = layout.offset;
  const out = new Float32Array(target[0] * target[1] * target[2]).fill(fill);
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const from = sx * (j + sy * k);
      out.set(current.data.subarray(from, from + sx), ox + target[0] * (oy + j + target[1] * (oz + k)));
    }
  }
  return out;
}

/**
 * A 2D image brought to `width` × `height`: resized to fit preserving its
 * aspect ratio (taking `pixelSpacing` [column, row] into account, square by
 * default), then centred and padded with `fill`.
 */
export function fitImage2D(
  image: Image2D,
  width: number,
  height: number,
  fill: number,
  pixelSpacing: readonly [number, number] = [1, 1],
): Image2D {
  const dims: Vec3 = [image.width, image.height, 1];
  if (image.data.length !== image.width * image.height) {
    throw new FedpetError(ErrorCodes.datasetInvalid, 'fitImage2D: image data length does not match its size');
  }
  const target: Vec3 = [width, height, 1];
  const layout = layoutOver(dims, [pixelSpacing[0], pixelSpacing[1], 1], target, [0, 1]);
  return { width, height, data: fitArray(image.data, dims, layout, target, fill) };
}

/**
 * A volume brought to `size` voxels: resized to fit preserving its physical
 * aspect ratio, then centred and padded with `fill`. The result is a true
 * Volume: its spacing is the resized content's (extent / voxels per axis) and
 * its origin is placed so every voxel keeps its patient coordinates, padding
 * included. As a tensor the data's shape is [size[2], size[1], size[0]].
 */
export function fitVolume(volume: Volume, size: Vec3, fill: number): Volume {
  if (voxelCount(volume.dims) !== volume.data.length) {
    throw new FedpetError(ErrorCodes.datasetInvalid, 'fitVolume: volume data length does not match its dims');
  }
  const layout = fitLayout(volume.dims, volume.spacing, size);
  const data = fitArray(volume.data, volume.dims, layout, size, fill);
  const ratio = (a: Axis): number => volume.dims[a] / layout.size[a];
  const spacing: Vec3 = [
    volume.spacing[0] * ratio(0),
    volume.spacing[1] * ratio(1),
    volume.spacing[2] * ratio(2),
  ];
  // Source index of output voxel 0 on each axis: (0 − offset + ½)·n/m − ½.
  const first = (a: Axis): number => (0.5 - layout.offset[a]) * ratio(a) - 0.5;
  const shift: Vec3 = [
    first(0) * volume.spacing[0],
    first(1) * volume.spacing[1],
    first(2) * volume.spacing[2],
  ];
  const [r, c, n] = volume.direction;
  const o = volume.origin;
  const origin: Vec3 = [
    o[0] + shift[0] * r[0] + shift[1] * c[0] + shift[2] * n[0],
    o[1] + shift[0] * r[1] + shift[1] * c[1] + shift[2] * n[1],
    o[2] + shift[0] * r[2] + shift[1] * c[2] + shift[2] * n[2],
  ];
  return { dims: size, spacing, origin, direction: volume.direction, data };
}
