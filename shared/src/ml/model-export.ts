import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

export const modelJsonFile = 'model.json';
export const weightsFile = 'weights.bin';

export interface SavedModelFiles {
  modelJsonPath: string;
  weightsPath: string;
  weightBytes: number;
}

/** Write to a sibling temp file then rename, so readers never see half a file. */
async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/**
 * The standard tfjs layers files as bytes: model.json (topology plus a
 * weightsManifest pointing at weights.bin) and the weights. Built with
 * tf.io.withSaveHandler, so no tfjs-node file:// handler is needed; these are
 * the files tfjs-node and tensorflowjs_converter read.
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
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      captured = {
        modelJson: Buffer.from(JSON.stringify(modelJson), 'utf8'),
        weights: new Uint8Array(weights),
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured) throw new FedpetError(ErrorCodes.internal, 'tfjs did not hand over the model artifacts');
  return captured;
}

/**
 * Saves a LayersModel in the standard tfjs layers format (model.json plus one
 * weights.bin) to a directory. The weights file is written first, so a
 * present model.json means a complete model.
 */
export async function saveModel(model: tf.LayersModel, directory: string): Promise<SavedModelFiles> {
  await mkdir(directory, { recursive: true });
  const modelJsonPath = join(directory, modelJsonFile);
  const weightsPath = join(directory, weightsFile);
  const { modelJson, weights } = await modelToBytes(model);
  await writeAtomically(weightsPath, weights);
  await writeAtomically(modelJsonPath, modelJson);
  return { modelJsonPath, weightsPath, weightBytes: weights.byteLength };
}

async function readOrFail(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'not found' : `unreadable (${code ?? 'unknown error'})`;
    throw new FedpetError(ErrorCodes.invalidConfig, `model file ${what}: ${path}`, { cause: error });
  }
}

function parseModelJson(text: string, path: string): tf.io.ModelJSON {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FedpetError(ErrorCodes.invalidConfig, `model file is not JSON: ${path}`, { cause: error });
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('modelTopology' in parsed) ||
    !('weightsManifest' in parsed) ||
    !Array.isArray(parsed.weightsManifest)
  ) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `model file lacks modelTopology or weightsManifest: ${path}`,
    );
  }
  return parsed as tf.io.ModelJSON;
}

/** An IOHandler that reads model.json and its weight shards from a directory. */
export function directoryLoadHandler(directory: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJsonPath = join(directory, modelJsonFile);
      const modelJson = parseModelJson((await readOrFail(modelJsonPath)).toString('utf8'), modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const shards: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            // Shards must sit beside model.json: a manifest must not reach elsewhere on disk.
            if (basename(shard) !== shard || shard === '..' || shard === '.') {
              throw new FedpetError(
                ErrorCodes.invalidConfig,
                `weight shard '${shard}' is not a plain file name`,
              );
            }
            const bytes = await readOrFail(join(directory, shard));
            shards.push(
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
            );
          }
          specs.push(...group.weights);
        }
        return [specs, shards];
      });
    },
  };
}

/** Loads a model written by saveModel (or any tfjs layers model directory). */
export async function loadModel(directory: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(directoryLoadHandler(directory));
}
