// The benchmark's ceiling: a workflow that does nothing, to measure what the Temporal server alone allows.
export async function noop(): Promise<void> {}
