import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';

/**
 * One convolution's shapes, 2D and 3D alike: a 2D convolution is a 3D one of
 * depth 1 (inD = outD = fD = 1, strideD = 1, padFront = 0). Tensors are
 * channels-last: x [batch, inD, inH, inW, inC], filter [fD, fH, fW, inC, outC],
 * y [batch, outD, outH, outW, outC], all row-major; that is tfjs' NHWC/NDHWC
 * layout with a unit depth axis inserted for 2D.
 */
export interface ConvGeometry {
  batch: number;
  inD: number;
  inH: number;
  inW: number;
  inC: number;
  outD: number;
  outH: number;
  outW: number;
  outC: number;
  fD: number;
  fH: number;
  fW: number;
  strideD: number;
  strideH: number;
  strideW: number;
  /** Zero rows added before the first input plane / row / column (tfjs padInfo front/top/left). */
  padFront: number;
  padTop: number;
  padLeft: number;
}

/** Rows of the patch matrix: one per output position. */
export function patchRows(g: ConvGeometry): number {
  return g.batch * g.outD * g.outH * g.outW;
}

/** Columns of the patch matrix: one per filter tap and input channel, in filter order (d, h, w, c). */
export function patchColumns(g: ConvGeometry): number {
  return g.fD * g.fH * g.fW * g.inC;
}

type Pad2D = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function unsupported(kernel: string, what: string): never {
  throw new FedpetError(
    ErrorCodes.invalidConfig,
    `fedpet wasm kernel ${kernel}: ${what} is not supported (channels-last data, dilation 1 only)`,
  );
}

function unitDilations(kernel: string, dilations: number | readonly number[] | undefined): void {
  if (dilations === undefined || dilations === null) return;
  const values = typeof dilations === 'number' ? [dilations] : dilations;
  if (values.some((d) => d !== 1)) unsupported(kernel, `dilations ${JSON.stringify(dilations)}`);
}

/**
 * Geometry of a tf.conv2d as its gradient kernels receive it. Padding
 * arithmetic is tfjs' own (backend_util.computeConv2DInfo), so 'same',
 * 'valid', a number and explicit padding agree with the cpu backend exactly.
 */
export function conv2dGeometry(
  kernel: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: {
    strides: number | [number, number];
    pad: Pad2D;
    dataFormat?: string;
    dimRoundingMode?: Rounding;
    dilations?: number | [number, number];
  },
): ConvGeometry {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')
    unsupported(kernel, `dataFormat '${attrs.dataFormat}'`);
  unitDilations(kernel, attrs.dilations);
  if (xShape.length !== 4 || filterShape.length !== 4)
    unsupported(kernel, `input rank ${xShape.length} with filter rank ${filterShape.length}`);
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inD: 1,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outD: 1,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fD: 1,
    fH: info.filterHeight,
    fW: info.filterWidth,
    strideD: 1,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padFront: 0,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Geometry of a tf.conv3d (NDHWC), from backend_util.computeConv3DInfo. */
export function conv3dGeometry(
  kernel: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: {
    strides: number | [number, number, number];
    pad: 'valid' | 'same' | number;
    dataFormat?: string;
    dilations?: number | [number, number, number];
  },
): ConvGeometry {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NDHWC')
    unsupported(kernel, `dataFormat '${attrs.dataFormat}'`);
  unitDilations(kernel, attrs.dilations);
  if (xShape.length !== 5 || filterShape.length !== 5)
    unsupported(kernel, `input rank ${xShape.length} with filter rank ${filterShape.length}`);
  const info = tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inD: info.inDepth,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outD: info.outDepth,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fD: info.filterDepth,
    fH: info.filterHeight,
    fW: info.filterWidth,
    strideD: info.strideDepth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padFront: info.padInfo.front,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}
