import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport } from './html-report.ts';
import type { ReportInput } from './report-model.ts';
import { coxRows } from './report-tables.ts';

function input(): ReportInput {
  const hospitals = ['Centre A', '<b>x</b>', 'Hospital "C"'];
  return {
    title: 'PFS under immunotherapy <draft>',
    generatedAt: '2025-03-01T10:00:00Z',
    experiment: {
      id: 'exp-42',
      name: 'pet-mip-cnn federated',
      plan: 'pet-mip-cnn & clinical covariates',
      hospitals,
      rounds: 3,
      protection: 'secure aggregation',
    },
    perRound: [1, 2, 3].map((round) => ({
      round,
      combined: {
        valLoss: 3 - round * 0.1,
        cIndex: 0.6 + round * 0.02,
        tdAuc180: 0.62 + round * 0.01,
        tdAuc365: 0.6,
      },
      hospitals: {
        'Centre A': {
          valLoss: 3.1 - round * 0.1,
          cIndex: 0.58 + round * 0.02,
          tdAuc180: 0.6,
          tdAuc365: 0.59,
        },
        // a small site: its C-index and td-AUC are withheld every round
        '<b>x</b>': { valLoss: 2.9 - round * 0.05 },
        'Hospital "C"': { valLoss: 3 - round * 0.1, cIndex: 0.62, tdAuc180: 0.64, tdAuc365: 0.61 },
      },
    })),
    withheld: [1, 2, 3].flatMap((round) =>
      ['cIndex', 'tdAuc180', 'tdAuc365'].map((metric) => ({
        round,
        hospital: '<b>x</b>',
        metric,
        reason: '3 events in the held-out split (at least 5 needed)',
      })),
    ),
    kaplanMeier: {
      groups: [
        {
          label: 'Predicted low risk',
          times: [50, 120, 300],
          survival: [0.9, 0.8, 0.6],
          atRisk: [40, 35, 20],
        },
        {
          label: 'Predicted high risk',
          times: [30, 90, 200],
          survival: [0.8, 0.5, 0.3],
          atRisk: [40, 30, 15],
        },
      ],
      logRankP: 0.0004,
      note: 'Split at the median predicted risk of the training data.',
    },
    comparison: {
      columns: ['C-index', 'td-AUC 6 mo'],
      rows: [
        { label: 'Federated', values: [0.71, 0.73] },
        { label: 'Local-only (mean)', values: [0.64, null], note: 'one hospital too small' },
      ],
      caption: 'Held-out splits of all hospitals.',
    },
    coxModel: {
      covariates: ['age', 'total MTV'],
      beta: [0.01, 0.5],
      se: [0.01, 0.25],
      hr: [Math.exp(0.01), Math.exp(0.5)],
      ci95: [
        [Math.exp(0.01 - 1.96 * 0.01), Math.exp(0.01 + 1.96 * 0.01)],
        [Math.exp(0.5 - 1.96 * 0.25), Math.exp(0.5 + 1.96 * 0.25)],
      ],
      logLik: -720,
      logLikInitial: -725,
      method: 'exact federated Newton–Raphson, stratified by hospital, Efron ties',
    },
    notes: ['Synthetic cohort <not real patients>.'],
  };
}

test('a complete HTML5 document: doctype, one svg per chart, no script, no URL at all', () => {
  const html = renderReport(input());
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  // loss, C-index, td-AUC 180 and 365, Kaplan–Meier
  assert.equal(html.match(/<svg/g)?.length, 5);
  assert.equal(html.match(/<\/svg>/g)?.length, 5);
  for (const metric of ['valLoss', 'cIndex', 'tdAuc180', 'tdAuc365'])
    assert.ok(html.includes(`data-metric="${metric}"`), `${metric} chart`);
  assert.ok(!/<script/i.test(html));
  assert.ok(!/https?:\/\//i.test(html));
  assert.ok(
    !/<link|@import|url\((?!#)/i.test(html),
    'nothing external: no link, import or url() other than #ids',
  );
  assert.ok(!/NaN|Infinity|undefined/.test(html));
  // every '<' opens a tag, comment or doctype: text such as "p < 0.001" arrives escaped
  assert.equal(/<(?![a-zA-Z/!])/.exec(html), null);
  assert.equal(/&(?!(amp|lt|gt|quot|#39);)/.exec(html), null, 'every & starts an entity');
});

test('every user string is escaped', () => {
  const html = renderReport(input());
  assert.ok(!html.includes('<b>x</b>'));
  assert.ok(html.includes('&lt;b&gt;x&lt;/b&gt;'));
  assert.ok(html.includes('PFS under immunotherapy &lt;draft&gt;'));
  assert.ok(html.includes('Hospital &quot;C&quot;'));
  assert.ok(html.includes('pet-mip-cnn &amp; clinical covariates'));
  assert.ok(html.includes('Synthetic cohort &lt;not real patients&gt;.'));
  assert.ok(!html.includes('<draft>') && !html.includes('<not real'));
});

test('missing metrics: charts show gaps, the table says withheld, the reasons are grouped by rounds', () => {
  const html = renderReport(input());
  const cIndexChart = /data-metric="cIndex">([\s\S]*?)<\/figure>/.exec(html)?.[1] ?? '';
  // the withheld site has a legend entry but no line in the C-index chart
  const withheldSeries = /data-series="&lt;b&gt;x&lt;\/b&gt;">([\s\S]*?)<\/g>/.exec(cIndexChart)?.[1] ?? '';
  assert.ok(!withheldSeries.includes('<path'));
  assert.ok(!withheldSeries.includes('<circle'));
  assert.ok(/<td class="withheld" title="3 events[^"]*">withheld<\/td>/.test(html));
  const withheldSection = /<section id="withheld">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  const withheldRows = /<tbody>([\s\S]*?)<\/tbody>/.exec(withheldSection)?.[1] ?? '';
  assert.equal(withheldRows.match(/<tr>/g)?.length, 3, 'one row per metric, rounds folded');
  assert.ok(withheldSection.includes('<td>1–3</td>'));
});

test('Kaplan–Meier section carries the formatted log-rank p and the medians', () => {
  const html = renderReport(input());
  const section = /<section id="kaplan-meier">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.ok(section.includes('Log-rank p &lt; 0.001'));
  assert.ok(section.includes('class="km-step"'));
  // low risk never reaches 0.5; high risk reaches it at day 90
  assert.ok(/Predicted low risk<\/th><td class="num">40<\/td><td class="num">not reached/.test(section));
  assert.ok(/Predicted high risk<\/th><td class="num">40<\/td><td class="num">90\.0/.test(section));
});

test('Cox table: hazard ratios with CI, Wald p from z = β/SE, and the likelihood-ratio test', () => {
  const html = renderReport(input());
  const rows = coxRows(input().coxModel!);
  assert.equal(rows[0]?.z, 1);
  assert.ok(Math.abs((rows[1]?.p ?? 0) - 0.04550026389635842) < 1e-12, 'z = 2 → p = 0.0455');
  const section = /<section id="cox-model">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.ok(section.includes('<th>total MTV</th><td class="num">0.500</td><td class="num">0.250</td>'));
  assert.ok(section.includes('1.649 (1.010–2.691)'));
  assert.ok(section.includes('<td class="num">2.00</td><td class="num">0.046</td>'));
  // 2 × (−720 − (−725)) = 10 on 2 df: p = e^(−5) = 0.0067
  assert.ok(section.includes('likelihood-ratio χ² = 10.00 on 2 df, p = 0.007'));
});

test('comparison table with missing cells and notes; a row of the wrong width is an error naming the row', () => {
  const html = renderReport(input());
  const section = /<section id="comparison">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.ok(section.includes('<th>Local-only (mean)</th><td class="num">0.640</td><td class="num">—</td>'));
  assert.ok(section.includes('one hospital too small'));
  const bad = input();
  bad.comparison?.rows.push({ label: 'Centralized', values: [0.7] });
  assert.throws(() => renderReport(bad), /comparison row "Centralized" has 1 values for 2 columns/);
});

test('optional sections are left out and a rising survival curve is refused', () => {
  const minimal: ReportInput = {
    ...input(),
    kaplanMeier: undefined,
    comparison: undefined,
    coxModel: undefined,
    withheld: undefined,
    notes: undefined,
  };
  const html = renderReport(minimal);
  assert.equal(html.match(/<svg/g)?.length, 4);
  assert.ok(!html.includes('id="kaplan-meier"') && !html.includes('id="cox-model"'));
  const rising = input();
  rising.kaplanMeier?.groups.push({ label: 'broken', times: [1, 2], survival: [0.5, 0.7] });
  assert.throws(() => renderReport(rising), /group "broken": survival at index 1/);
  const noRounds = renderReport({ ...minimal, perRound: [] });
  assert.equal(noRounds.match(/<svg/g), null);
  assert.ok(noRounds.includes('No per-round metrics were reported.'));
});
