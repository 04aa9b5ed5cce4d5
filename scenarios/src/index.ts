export { enrollInspectDeploy } from './builtin/enroll-inspect-deploy.ts';
export {
  compareRuns,
  type Difference,
  type DifferenceKind,
  type FidelityReport,
  FLEETING,
  fidelityHtml,
  fidelityReport,
  fidelityText,
  KNOWN_DIFFERENCES,
  type KnownDifference,
  phases,
  type ScenarioComparison,
  writeFidelityReport,
} from './fidelity.ts';
export {
  type ApiCall,
  IronicApiError,
  IronicClient,
  type IronicNode,
  type PatchOp,
} from './ironic-client.ts';
export { type Faults, LabClient, type LabEvent, type LabInfo, type LabNodeInfo } from './lab-client.ts';
export { builtinScenarios, loadScenario, withOptions } from './library.ts';
export type {
  AssertionResult,
  NodeResult,
  RunRecord,
  StepResult,
  TimelineEvent,
  TimelineKind,
} from './record.ts';
export { htmlReport, junitXml, type ReportPaths, textSummary, writeReports } from './report/index.ts';
export { type RunOptions, runScenario } from './runner.ts';
export type { Scenario, ScenarioContext, ScenarioOption } from './scenario.ts';
