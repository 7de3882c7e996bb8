/** Imported by cohort-worker.mjs to learn whether this thread can load TypeScript yet. */
export const typescriptLoads: boolean = true;
