import { runMain } from '@fedpet/shared/service/run-main';
import { runDatasetCommand } from './dataset-command.ts';

await runMain('fedpet-trainer dataset', () => runDatasetCommand(process.argv.slice(3), process.env));
