export { enrollInspectDeploy } from './builtin/enroll-inspect-deploy.ts';
export {
  type ApiCall,
  IronicApiError,
  IronicClient,
  type IronicNode,
  type PatchOp,
} from './ironic-client.ts';
export { type Faults, LabClient, type LabEvent, type LabInfo, type LabNodeInfo } from './lab-client.ts';
export { builtinScenarios, loadScenario } from './library.ts';
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
export type { Scenario, ScenarioContext } from './scenario.ts';
