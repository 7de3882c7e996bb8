// The trainer binary's entry: \`fedpet-trainer dataset …\` is a local operator
// tool and loads only what it needs; everything else starts the worker service.
if (process.argv[2] === 'dataset') await import('./registry/dataset-main.ts');
else await import('./main.ts');
