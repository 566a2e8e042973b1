export { gatherSnapshot, type DoctorPodman, type GatherDeps } from './gather-snapshot.ts';
export { doctorExitCode, DOCTOR_EXIT, runChecks } from './run-checks.ts';
export type { Finding, HostSnapshot, Severity } from './host-snapshot.ts';
export { logHostFindings } from './log-findings.ts';
