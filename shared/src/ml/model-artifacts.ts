import * as tf from '@tensorflow/tfjs';
import { weightsFile } from './model-export.ts';

/**
 * The standard tfjs layers files (model.json with a weightsManifest pointing
 * at weights.bin, and the weights) as bytes, for storing as blobs. Same
 * format as saveModel writes to disk.
 */
export async function modelToBytes(
  model: tf.LayersModel,
): Promise<{ modelJson: Uint8Array; weights: Uint8Array }> {
  let captured: { modelJson: Uint8Array; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      captured = {
        modelJson: Buffer.from(JSON.stringify(modelJson), 'utf8'),
        weights: new Uint8Array(weights),
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured) throw new Error('tfjs did not hand over the model artifacts');
  return captured;
}
