// One severity scale and one exit-code rule for `status` and `doctor`, so that they never disagree about
// the same fact: a finding is a warning (worth a look, nothing is failing) or a failure (something did not
// run, or ran and failed). Exit 0: no failure (warnings allowed); 1: a failure; 2: the database cannot be
// reached (or bad usage).
export type Severity = 'warn' | 'fail';

export interface Finding {
  severity: Severity;
  text: string;
  /** The task it is about, if one. */
  task?: string;
}

export const healthOf = (findings: Finding[]): 'healthy' | 'degraded' => (findings.some((f) => f.severity === 'fail') ? 'degraded' : 'healthy');

