// Worker-thread entry of the synthetic PET-CT cohort generator (plain JavaScript on
// purpose). Worker threads do not inherit the main thread's TypeScript loader (tsx,
// whether registered with --import or with register()), so when a probe .ts module
// cannot be imported, register tsx here before loading the TypeScript worker.
let typescriptLoads = true;
try {
  await import('./typescript-probe.ts');
} catch {
  typescriptLoads = false;
}
if (!typescriptLoads) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import('./cohort-worker.ts');
