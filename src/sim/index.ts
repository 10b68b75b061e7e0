/** The charge point simulator / load generator: a library first, `ocpp-gateway simulate` on top. */
export { runSimulation, startSimulation, type Simulation, type SimulationHandle } from './runner.js'
export { startWorkers } from './workers.js'
export { type SimOptions, type ResolvedSimOptions, type Scenario, type SimProtocol, SCENARIOS, SIM_PROTOCOLS, SimOptionError, resolveSimOptions, chargerUrl } from './options.js'
export { type SimSummary, type LatencySummary, type ProcessReport, buildSummary, formatSummary } from './summary.js'
export { type ProgressSnapshot, type SimCounters } from './stats.js'
export { Histogram, type HistogramData } from './histogram.js'
export { Progress, formatProgress } from './progress.js'
export { parseSimArgs, simUsage } from './cli-options.js'
