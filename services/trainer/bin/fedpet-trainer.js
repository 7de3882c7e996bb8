#!/usr/bin/env node
// Runs the service's TypeScript entry directly through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/entry.ts');
