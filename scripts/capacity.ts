/**
 * `npx tsx scripts/capacity.ts [--officers N] [--hours H] [--bitrate MBPS] [--retention YEARS] …`:
 * the capacity model of docs/scaling.md (archive/capacity-model.ts) for a bureau's figures.
 * The measured inputs (transcode speed per core, ledger appends/s) are read from the figures
 * docs/benchmarks.md carries as data, unless given; --markdown prints the table the document
 * shows. Every input has a flag of its own name in kebab case (--hours-per-officer-per-day …);
 * --hours, --bitrate and --retention are short for the three a bureau fills in first.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { capacityModel, EXAMPLE_INPUTS, formatFigure, type CapacityFigure, type CapacityInputs } from '../archive/capacity-model.ts';
import { REPO_ROOT } from '../config/config.loader.ts';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const SHORT: Record<string, keyof CapacityInputs> = { hours: 'hoursPerOfficerPerDay', bitrate: 'bitrateMbps', retention: 'retentionYears' };

interface BenchRow {
  what: string;
  evidock: string;
}

/** The rows of docs/benchmarks.md, from the data it carries at its end. */
function benchRows(path = resolve(REPO_ROOT, 'docs', 'benchmarks.md')): BenchRow[] {
  const m = /<!-- evidock-bench-data v1[^\n]*\n(.*)\n-->/.exec(readFileSync(path, 'utf8'));
  if (!m) return [];
  const data = JSON.parse(m[1]!) as { sections?: Array<{ rows: BenchRow[] }> };
  return (data.sections ?? []).flatMap((s) => s.rows);
}

/**
 * The model's example inputs with the measured ones taken from docs/benchmarks.md: the proxy
 * transcode's × real time divided by the bench machine's cores, and the best ledger append rate
 * of the ledger's current design (the Merkle log's rows when the report has them). `sources` says where each came from (or that the example value stayed).
 */
export function measuredInputs(): { inputs: CapacityInputs; sources: string[] } {
  const inputs = { ...EXAMPLE_INPUTS };
  const sources: string[] = [];
  const rows = benchRows();
  const transcode = rows.find((r) => r.what.startsWith('Proxy of a') && r.what.includes('handleProxy'));
  const realtime = transcode && /([\d.]+)× real time/.exec(transcode.evidock);
  const cores = /(\d+) logical CPUs/.exec(readFileSync(resolve(REPO_ROOT, 'docs', 'benchmarks.md'), 'utf8'));
  if (realtime && cores) {
    inputs.transcodeRealtimePerCore = Number(realtime[1]) / Number(cores[1]);
    sources.push(`transcode ${realtime[1]}× real time on ${cores[1]} cores (docs/benchmarks.md, "${transcode!.what}") = ${inputs.transcodeRealtimePerCore.toFixed(2)}× per core`);
  } else sources.push(`transcode speed per core: example value ${inputs.transcodeRealtimePerCore} (no transcode figure in docs/benchmarks.md)`);
  // The ledger evidock runs (the Merkle log, issue 19); the locked chain's figures only from a report of before it.
  const rates = (prefix: string) =>
    rows
      .filter((r) => r.what.startsWith(prefix))
      .map((r) => ({ what: r.what, rate: Number(/^(\d+) appends\/s/.exec(r.evidock)?.[1]) }))
      .filter((r) => Number.isFinite(r.rate));
  const merkle = rates('Ledger appends, Merkle log');
  const appends = merkle.length > 0 ? merkle : rates('Ledger appends, advisory lock');
  if (appends.length > 0) {
    const best = appends.reduce((a, b) => (b.rate > a.rate ? b : a));
    inputs.ledgerAppendsPerSecond = best.rate;
    sources.push(`ledger ${best.rate} appends/s, the best of the ledger's design (docs/benchmarks.md, "${best.what}")`);
  } else sources.push(`ledger appends/s: example value ${inputs.ledgerAppendsPerSecond} (no ledger figure in docs/benchmarks.md)`);
  return { inputs, sources };
}

export function markdownModel(inputs: CapacityInputs, figures: readonly CapacityFigure[]): string {
  const lines = ['| Input | Value |', '| --- | --- |', ...Object.entries(inputs).map(([k, v]) => `| \`--${kebab(k)}\` | ${Number(v).toLocaleString('en-US', { maximumFractionDigits: 3 })} |`), ''];
  lines.push('| Figure | Formula | Value |', '| --- | --- | --- |', ...figures.map((f) => `| ${f.what} | ${f.formula} | **${formatFigure(f)}** ${f.unit} |`));
  return lines.join('\n');
}

function main(argv: string[]): number {
  const keys = Object.keys(EXAMPLE_INPUTS) as Array<keyof CapacityInputs>;
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(keys.map((k) => [kebab(k), { type: 'string' as const }])),
      ...Object.fromEntries(Object.keys(SHORT).map((k) => [k, { type: 'string' as const }])),
      markdown: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { inputs, sources } = measuredInputs();
  const given = values as Record<string, string | boolean | undefined>;
  for (const k of keys) {
    const short = Object.keys(SHORT).find((s) => SHORT[s] === k);
    const raw = given[kebab(k)] ?? (short ? given[short] : undefined);
    if (typeof raw === 'string') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`--${kebab(k)}: not a number: ${raw}`);
      inputs[k] = n;
    }
  }
  const figures = capacityModel(inputs);
  if (values.json) process.stdout.write(`${JSON.stringify({ inputs, figures, sources }, null, 2)}\n`);
  else if (values.markdown) process.stdout.write(`${markdownModel(inputs, figures)}\n\nMeasured inputs: ${sources.join('; ')}.\n`);
  else for (const f of figures) process.stdout.write(`${f.what.padEnd(46)} ${formatFigure(f).padStart(12)} ${f.unit}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`capacity: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
