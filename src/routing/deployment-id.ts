// The run-time id of a deployment, the one spelling the registry, the simulator launcher and FinOps
// share: the meter reports it, the ledger stores it, prices and GPU costs are looked up by it.

/**
 * A configured `id`, else `<model>#<index in the model's configured deployments>`. A simulator
 * deployment's replicas are `<that>-sim<replica>`.
 */
export function deploymentId(model: string, index: number, configuredId?: string, simulatorReplica?: number): string {
  const id = configuredId ?? `${model}#${index}`;
  return simulatorReplica === undefined ? id : `${id}-sim${simulatorReplica}`;
}
