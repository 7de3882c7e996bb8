import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../random.ts';
import type { ModelSpec } from './model-spec.ts';

const glorot = (seed: number, ...parts: (string | number)[]) =>
  tf.initializers.glorotUniform({ seed: deriveSeed(seed, 'kernel', ...parts) });

/** Shape of one row's image for a spec: MIPs are 2 channels (coronal, sagittal); crops one per modality. */
export function imageShapeOf(spec: ModelSpec): number[] | undefined {
  if (!spec.image) return undefined;
  if (spec.image.kind === 'mip') return [spec.image.size, spec.image.size, 2];
  const { size, channels } = spec.image;
  return [size, size, size, channels.length];
}

/**
 * The multilayer perceptron of tabular plans: spec.hiddenUnits dense layers,
 * then one output (sigmoid for classification, linear otherwise). Cox models
 * have no output bias: the partial likelihood cannot see it (a constant
 * cancels between each event and its risk set). Layer names are fixed so
 * weight names match across processes; each kernel's seed derives from `seed`.
 */
function buildMlp(spec: ModelSpec, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'tabular_mlp' });
  const units = [...spec.hiddenUnits, 1];
  units.forEach((count, index) => {
    const isOutput = index === units.length - 1;
    model.add(
      tf.layers.dense({
        name: isOutput ? 'output' : `hidden_${index + 1}`,
        units: count,
        activation: isOutput ? (spec.objective === 'bce' ? 'sigmoid' : 'linear') : spec.activation,
        useBias: !(isOutput && spec.objective === 'cox'),
        kernelInitializer: glorot(seed, index),
        biasInitializer: 'zeros',
        ...(index === 0 ? { inputShape: [spec.columns.length] } : {}),
      }),
    );
  });
  return model;
}

/**
 * A small CNN over the plan's images (2D on MIPs, 3D on crops): per filter
 * count a 3×3(×3) ReLU convolution and a 2× max-pool, then global average
 * pooling (2D) or flattening (3D), optionally joined by the tabular
 * covariates, one ReLU dense layer and the output (linear risk for Cox).
 */
function buildCnn(spec: ModelSpec, seed: number): tf.LayersModel {
  const shape = imageShapeOf(spec)!;
  const threeD = shape.length === 4;
  const image = tf.input({ shape, name: 'image' });
  let x: tf.SymbolicTensor = image;
  spec.convFilters.forEach((filters, index) => {
    const common = {
      name: `conv_${index + 1}`,
      filters,
      kernelSize: 3,
      padding: 'same' as const,
      activation: 'relu' as const,
      kernelInitializer: glorot(seed, 'conv', index),
    };
    x = (threeD ? tf.layers.conv3d(common) : tf.layers.conv2d(common)).apply(x) as tf.SymbolicTensor;
    x = (
      threeD
        ? tf.layers.maxPooling3d({ poolSize: 2, name: `pool_${index + 1}` })
        : tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${index + 1}` })
    ).apply(x) as tf.SymbolicTensor;
  });
  x = (
    threeD ? tf.layers.flatten({ name: 'flatten' }) : tf.layers.globalAveragePooling2d({ name: 'gap' })
  ).apply(x) as tf.SymbolicTensor;
  const inputs = [image];
  if (spec.columns.length > 0) {
    const tabular = tf.input({ shape: [spec.columns.length], name: 'tabular' });
    inputs.push(tabular);
    x = tf.layers.concatenate({ name: 'join' }).apply([x, tabular]) as tf.SymbolicTensor;
  }
  x = tf.layers
    .dense({
      name: 'dense_1',
      units: spec.denseUnits,
      activation: 'relu',
      kernelInitializer: glorot(seed, 'dense'),
    })
    .apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({
      name: 'output',
      units: 1,
      activation: spec.objective === 'bce' ? 'sigmoid' : 'linear',
      useBias: spec.objective !== 'cox',
      kernelInitializer: glorot(seed, 'output'),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: output, name: threeD ? 'pet_ct_3dcnn' : 'pet_mip_cnn' });
}

/** The network of a plan; (spec, seed) fixes the initial weights. */
export function buildPlanModel(spec: ModelSpec, seed: number): tf.LayersModel {
  return spec.image ? buildCnn(spec, seed) : buildMlp(spec, seed);
}
