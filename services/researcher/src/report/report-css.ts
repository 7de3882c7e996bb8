/**
 * The report's only stylesheet, inlined. System fonts only (nothing is
 * fetched), tables and charts that do not split across printed pages, and
 * colours that survive greyscale printing.
 */
export const REPORT_CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 980px; padding: 24px 28px 40px; color: #111; background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.6em; margin: 0 0 12px; }
h2 { font-size: 1.25em; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin: 20px 0 6px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.summary dt { font-weight: 600; color: #333; }
dl.summary dd { margin: 0; }
.key-figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0; list-style: none; }
.key-figures li { border: 1px solid #ccc; border-radius: 4px; padding: 6px 12px; }
.key-figures .value { display: block; font-size: 1.3em; font-weight: 600; font-variant-numeric: tabular-nums; }
figure { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figcaption { color: #444; font-size: 0.92em; margin-top: 4px; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; break-inside: avoid; page-break-inside: avoid;
  font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; color: #444; font-size: 0.92em; padding-top: 4px; }
th, td { border: 1px solid #bbb; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; }
td.withheld { color: #777; font-style: italic; }
.note { color: #444; }
footer { margin-top: 40px; padding-top: 8px; border-top: 1px solid #ccc; color: #555; font-size: 0.9em; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;
