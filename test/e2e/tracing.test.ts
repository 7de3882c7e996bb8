import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { cli, runCli } from '../support/run-cli.ts';
import { testUrls } from '../support/unique.ts';

/**
 * Separate processes (researcher, aggregator, three trainers) export spans
 * over OTLP/HTTP to a receiver in this test. The experiment must be one
 * trace: submit → experiment run → rounds → round jobs → each hospital's
 * training and update publish → update receipt → aggregation.
 */
for (const bus of ['amqp', 'mqtt'] as const) {
  test(`one trace runs from the submit through every hospital to the aggregation (${bus})`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'fedpet-trace-'));
    const receiver = new OtlpReceiver();
    const endpoint = await receiver.start();
    try {
      assert.equal(
        (
          await runCli(cli.fedpet, [
            'synth',
            '--kind',
            'tabular',
            '--out',
            join(work, 'data'),
            '--rows',
            '60',
          ])
        ).code,
        0,
      );
      const experiment = join(work, 'experiment.yaml');
      await writeFile(
        experiment,
        [
          'name: traced',
          'plan: { kind: tabular-mlp, task: binary-classification, features: [x1, x2, x3, x4, x5, x6, x7, x8], label: label }',
          'dataset: tabular',
          'hospitals: [h1, h2, h3]',
          'rounds: 2',
          'seed: 1',
        ].join('\n'),
      );
      const run = await runCli(
        cli.fedpet,
        [
          'sandbox',
          '--federation',
          join(work, 'data', 'federation.yaml'),
          '--experiment',
          experiment,
          '--out',
          join(work, 'out'),
        ],
        { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, FEDPET_BUS_URL: testUrls[bus] } },
      );
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);

      const submit = receiver.spans.find((span) => span.name === 'experiment.submit');
      assert.ok(submit, `no submit span among ${receiver.spans.length} spans`);
      assert.equal(submit.service, 'fedpet-researcher');
      const trace = receiver.spans.filter((span) => span.traceId === submit.traceId);
      const byId = new Map(trace.map((span) => [span.spanId, span]));
      const names = (service: string | RegExp) =>
        new Set(
          trace
            .filter((span) =>
              typeof service === 'string' ? span.service === service : service.test(span.service),
            )
            .map((s) => s.name),
        );

      assert.ok(names('fedpet-aggregator').has('experiment.run'));
      for (const name of [
        'round 1',
        'round 2',
        'round 3',
        'round.job.enqueue',
        'update receive',
        'round.aggregate',
      ]) {
        assert.ok(names('fedpet-aggregator').has(name), `aggregator span "${name}" missing from the trace`);
      }
      for (const hospital of ['h1', 'h2', 'h3']) {
        const service = `fedpet-trainer-${hospital}`;
        for (const name of ['round.train', 'train.local', 'update.publish']) {
          assert.ok(names(service).has(name), `${service} span "${name}" missing from the trace`);
        }
      }
      // Every span but the root hangs off a span of the same trace: one tree, no orphans.
      const orphans = trace.filter(
        (span) => span !== submit && !(span.parentSpanId && byId.has(span.parentSpanId)),
      );
      assert.deepEqual(
        orphans.map((span) => `${span.service}:${span.name}`),
        [],
      );
      // Each hospital's training descends from a round job the aggregator enqueued.
      const ancestors = (span: ReceivedSpan): string[] => {
        const chain: string[] = [];
        for (
          let at = span.parentSpanId && byId.get(span.parentSpanId);
          at;
          at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined
        ) {
          chain.push(at.name);
        }
        return chain;
      };
      const training = trace.filter((span) => span.name === 'train.local');
      assert.equal(training.length, 3 * 2);
      for (const span of training) {
        assert.deepEqual(ancestors(span).slice(0, 3), [
          'round.train',
          'round.job.enqueue',
          ancestors(span)[2],
        ]);
        assert.match(ancestors(span)[2]!, /^round \d$/);
        assert.equal(ancestors(span).at(-1), 'experiment.submit');
      }
    } finally {
      await receiver.stop();
      await rm(work, { recursive: true, force: true });
    }
  });
}
