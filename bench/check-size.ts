/**
 * `npm run check:size`, part of `npm test`: the bundle-size budgets only. Sizes do not depend on
 * the machine, so they may gate; timing budgets are reported by `npm run bench` and never gate.
 */
import { measureBundles } from './bundle.js';
import { formatBudgets, formatSection } from './report.js';

const section = await measureBundles();
console.log(`${formatSection(section)}\n\n${formatBudgets(section.budgets)}\n`);
const missed = section.budgets.filter((b) => !b.holds && b.enforced !== false);
for (const b of missed) console.error(`Size budget missed: ${b.name}: ${b.rule}, measured ${b.measured}. ${b.hint}.`);
if (missed.length > 0) process.exitCode = 1;
