// Read vitest's JSON report and close the CI log on one line: `N passed, N failed, N skipped`.
//   usage: node .ci/summarize.mjs <vitest.json> <vitest exit status>
// Exits 0 only when vitest succeeded, no test failed and at least one test ran.
// A test file whose suite failed outside any test (an import error, a failing beforeAll hook) has no
// failed test of its own in the report: it counts as one failure here, so the line never hides it.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file = '.test-results/vitest.json', statusArg = '0'] = process.argv.slice(2);
const vitestStatus = Number(statusArg);

let report;
try {
  if (!existsSync(file)) throw new Error(`${file} was not written`);
  report = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof report.numPassedTests !== 'number' || typeof report.numFailedTests !== 'number') {
    throw new Error(`${file} has no numPassedTests/numFailedTests`);
  }
} catch (error) {
  console.log(`error: no test results (${error.message}); vitest exited with status ${vitestStatus}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const passed = report.numPassedTests;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const failures = [];
let suiteFailures = 0;
for (const result of report.testResults ?? []) {
  const name = relative(process.cwd(), result.name ?? '?');
  const failedTests = (result.assertionResults ?? []).filter((t) => t.status === 'failed');
  for (const t of failedTests) failures.push(`  ✗ ${[name, ...(t.ancestorTitles ?? []), t.title].join(' > ')}`);
  if (result.status === 'failed' && failedTests.length === 0) {
    suiteFailures += 1;
    const why = String(result.message ?? '').split('\n').find((line) => line.trim()) ?? 'see the log above';
    failures.push(`  ✗ ${name}: the file failed outside its tests (${why.trim().slice(0, 200)})`);
  }
}
const failed = report.numFailedTests + suiteFailures;

if (failures.length) {
  console.log(`\nfailures (${failures.length}):`);
  for (const line of failures.slice(0, 50)) console.log(line);
  if (failures.length > 50) console.log(`  … and ${failures.length - 50} more`);
}
const problems = [];
const ran = passed + report.numFailedTests;
if (vitestStatus !== 0) {
  problems.push(`vitest exited with status ${vitestStatus}` + (failed === 0 && ran > 0 ? ' although no test failed (unhandled errors? see the log above)' : ''));
} else if (report.success === false && failed === 0) {
  problems.push('vitest reported an unsuccessful run although no test failed (see the log above)');
}
if (ran === 0) problems.push('no test ran');
if (problems.length) console.log(`error: ${problems.join('; ')}`);

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
