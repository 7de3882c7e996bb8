import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChart, stepChart, stepVertices } from './svg-charts.ts';

const size = { width: 640, height: 280 };

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

/** The d attribute of each path with the given class, in document order. */
function pathsOf(svg: string, className: string): string[] {
  return [...svg.matchAll(new RegExp(`<path class="${className}" d="([^"]*)"`, 'g'))].map(
    (match) => match[1] ?? '',
  );
}

/** Absolute M/L/H/V commands → the y coordinate after each command (H keeps the previous y). */
function yValues(d: string): number[] {
  const ys: number[] = [];
  let y = Number.NaN;
  for (const [, command, args] of d.matchAll(/([MLHV])([^MLHV]*)/g)) {
    const numbers = (args ?? '')
      .trim()
      .split(/[\s,]+/)
      .map(Number);
    if (command === 'M' || command === 'L') y = numbers[1] ?? Number.NaN;
    else if (command === 'V') y = numbers[0] ?? Number.NaN;
    ys.push(y);
  }
  return ys;
}

test('line chart: one path per series, a legend entry each, escaped labels, no URL', () => {
  const svg = lineChart({
    series: [
      {
        label: 'Combined',
        emphasis: true,
        points: [
          [1, 0.6],
          [2, 0.65],
          [3, 0.7],
        ],
      },
      {
        label: '<b>x</b>',
        points: [
          [1, 0.55],
          [2, 0.61],
          [3, 0.66],
        ],
      },
      {
        label: 'B & C',
        dashed: true,
        points: [
          [1, 0.5],
          [2, 0.58],
          [3, 0.64],
        ],
      },
    ],
    xLabel: 'Round',
    yLabel: 'C-index',
    integerX: true,
    reference: { y: 0.5, label: 'chance' },
    ...size,
  });
  assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  assert.equal(count(svg, /<svg/), 1);
  assert.equal(count(svg, /class="series-line"/), 3);
  assert.ok(svg.includes('&lt;b&gt;x&lt;/b&gt;'));
  assert.ok(!svg.includes('<b>'));
  assert.ok(svg.includes('B &amp; C'));
  assert.ok(svg.includes('stroke-dasharray="6 4"'));
  assert.ok(svg.includes('stroke="#000000" stroke-width="3"'), 'the emphasised series is bold black');
  assert.ok(!/https?:/.test(svg));
  assert.ok(!/NaN|Infinity/.test(svg));
  // the combined curve is drawn last (on top) but listed first in the legend
  const seriesOrder = [...svg.matchAll(/data-series="([^"]*)"/g)].map((match) => match[1]);
  assert.equal(seriesOrder.at(-1), 'Combined');
  const legendStart = svg.indexOf('class="legend"');
  assert.ok(svg.indexOf('>Combined<', legendStart) < svg.indexOf('&lt;b&gt;x', legendStart));
});

test('line chart: NaN and infinite values break the line instead of being drawn or bridged', () => {
  const svg = lineChart({
    series: [
      {
        label: 'h',
        points: [
          [1, 0.6],
          [2, 0.62],
          [3, Number.NaN],
          [4, 0.66],
          [5, 0.67],
          [6, Number.POSITIVE_INFINITY],
          [7, 0.7],
        ],
      },
    ],
    xLabel: 'Round',
    yLabel: 'C-index',
    ...size,
  });
  const [d] = pathsOf(svg, 'series-line');
  assert.ok(d !== undefined);
  assert.equal(count(d, /M/), 2, 'two drawn segments: rounds 1–2 and 4–5');
  assert.equal(count(d, /L/), 2);
  assert.equal(count(svg, /<circle/), 5, 'every finite point is marked, the isolated round 7 included');
  assert.ok(!/NaN|Infinity/.test(svg));
});

test('line chart: empty, all-missing, single-point and constant series', () => {
  const empty = lineChart({ series: [], xLabel: 'Round', yLabel: 'Loss', ...size });
  assert.ok(empty.includes('No data'));
  assert.ok(!/NaN|Infinity/.test(empty));

  const missing = lineChart({
    series: [
      {
        label: 'withheld',
        points: [
          [1, Number.NaN],
          [2, Number.NaN],
        ],
      },
    ],
    xLabel: 'Round',
    yLabel: 'Loss',
    ...size,
  });
  assert.ok(missing.includes('No data'));
  assert.equal(count(missing, /class="series-line"/), 0);
  assert.ok(
    missing.includes('>withheld <tspan fill="#777">no data</tspan>'),
    'the series is still in the legend',
  );

  const single = lineChart({
    series: [{ label: 'one', points: [[1, 0.7]] }],
    xLabel: 'Round',
    yLabel: 'C',
    ...size,
  });
  assert.equal(count(single, /class="series-line"/), 0);
  assert.equal(count(single, /<circle/), 1);
  assert.ok(!single.includes('No data'));
  assert.ok(!/NaN|Infinity/.test(single));

  const constant = lineChart({
    series: [
      {
        label: 'flat',
        points: [
          [1, 2],
          [2, 2],
          [3, 2],
        ],
      },
    ],
    xLabel: 'Round',
    yLabel: 'Loss',
    ...size,
  });
  const [d] = pathsOf(constant, 'series-line');
  assert.ok(d !== undefined);
  const ys = yValues(d);
  assert.ok(ys.every((y) => y === ys[0] && Number.isFinite(y)));
  assert.ok(!/NaN|Infinity/.test(constant));
});

test('line chart: a fixed y range clips through a clip path and keeps its ticks inside', () => {
  const svg = lineChart({
    series: [
      {
        label: 'h',
        points: [
          [1, 0.2],
          [2, 0.9],
        ],
      },
    ],
    xLabel: 'Round',
    yLabel: 'AUC',
    yRange: [0.5, 1],
    ...size,
  });
  const clipId = /<clipPath id="([^"]+)"/.exec(svg)?.[1];
  assert.ok(clipId !== undefined);
  assert.ok(svg.includes(`clip-path="url(#${clipId})"`));
  assert.ok(svg.includes('>0.5<') && svg.includes('>1.0<'));
});

test('line chart: more series than palette colours stay distinguishable', () => {
  const series = Array.from({ length: 12 }, (_, index) => ({
    label: `h${index}`,
    points: [[1, index] as [number, number], [2, index + 1] as [number, number]],
  }));
  const svg = lineChart({ series, xLabel: 'Round', yLabel: 'Loss', ...size });
  const styles = [
    ...svg.matchAll(
      /class="series-line" d="[^"]*" fill="none" (stroke="[^"]*")[^/]*?(stroke-dasharray="[^"]*")?\/>/g,
    ),
  ].map((match) => `${match[1]} ${match[2] ?? ''}`);
  assert.equal(styles.length, 12);
  assert.equal(new Set(styles).size, 12);
});

test('sizes too small for a chart are rejected with the chart named', () => {
  assert.throws(
    () => lineChart({ series: [], xLabel: 'x', yLabel: 'y', width: 50, height: 50 }),
    /lineChart: width and height/,
  );
});

const lowRisk = {
  label: 'Low risk',
  times: [30, 60, 90, 150, 240, 400],
  survival: [0.95, 0.9, 0.84, 0.77, 0.7, 0.61],
  lower: [0.88, 0.8, 0.73, 0.65, 0.57, 0.47],
  upper: [0.99, 0.96, 0.92, 0.87, 0.81, 0.74],
  censorTimes: [45, 200, 500],
};
const highRisk = {
  label: 'High <risk>',
  times: [20, 40, 70, 100, 130, 180, 260],
  survival: [0.9, 0.78, 0.66, 0.55, 0.44, 0.3, 0.18],
};

test('KM step path starts at survival 1 and its survival never increases (screen y never decreases)', () => {
  const svg = stepChart({
    groups: [lowRisk, highRisk],
    xLabel: 'Time (days)',
    yLabel: 'Survival',
    annotation: 'Log-rank p = 0.003',
    ...size,
  });
  const paths = pathsOf(svg, 'km-step');
  assert.equal(paths.length, 2);
  for (const d of paths) {
    const ys = yValues(d);
    assert.ok(ys.length > 2);
    for (let index = 1; index < ys.length; index += 1)
      assert.ok((ys[index] ?? 0) >= (ys[index - 1] ?? 0), `survival rises in ${d}`);
  }
  // the top of the y axis (survival 1) is where each curve starts
  const topTick =
    /<line x1="[^"]*" x2="[^"]*" y1="([^"]*)" y2="[^"]*" stroke="#e3e3e3"\/><text[^>]*>1\.0</.exec(svg);
  assert.ok(topTick);
  for (const d of paths) assert.equal(yValues(d)[0], Number(topTick[1]));
  assert.equal(count(svg, /class="km-band"/), 1, 'only the group with both limits gets a band');
  assert.equal(count(svg, /class="km-censor"/), 1);
  assert.equal(count(pathsOf(svg, 'km-censor')[0] ?? '', /M/), 3);
  assert.ok(svg.includes('High &lt;risk&gt;'));
  assert.ok(svg.includes('Log-rank p = 0.003'));
  assert.ok(!/NaN|Infinity|https?:/.test(svg));
});

test('step vertices: right-continuous, skip missing values, carry the last level to the end', () => {
  assert.deepEqual(stepVertices([2, 1], [0.5, 0.8], 0, 3), [
    [0, 1],
    [1, 1],
    [1, 0.8],
    [2, 0.8],
    [2, 0.5],
    [3, 0.5],
  ]);
  assert.deepEqual(stepVertices([1, 2], [Number.NaN, 0.4], 0, 2), [
    [0, 1],
    [2, 1],
    [2, 0.4],
    [2, 0.4],
  ]);
});

test('KM chart handles no groups and rejects arrays of different lengths', () => {
  const empty = stepChart({ groups: [], xLabel: 't', yLabel: 'S', ...size });
  assert.ok(empty.includes('No data'));
  assert.throws(
    () =>
      stepChart({
        groups: [{ label: 'bad', times: [1, 2], survival: [0.9] }],
        xLabel: 't',
        yLabel: 'S',
        ...size,
      }),
    /group "bad" has 2 times but 1 survival values/,
  );
});
