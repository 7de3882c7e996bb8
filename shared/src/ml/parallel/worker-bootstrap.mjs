// Worker threads do not inherit the parent's `--import tsx` hooks (Node 20):
// load the TypeScript worker module through tsx's API instead.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
