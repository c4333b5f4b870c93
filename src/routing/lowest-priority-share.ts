// How much lowest-priority (batch) work a pool lets each of its deployments carry. Routing owns the
// contract and the pools read it when they pick for the lowest priority; whoever paces batch work
// (batch's SpareCapacity) implements it and is handed to the pools when they are built.

export interface LowestPriorityShare {
  /**
   * Lowest-priority requests each deployment of `model` may carry while another deployment has
   * room for one, so no replica's interactive requests bear more of the batch load than the
   * others'; undefined: no spreading. Asked on every lowest-priority pick: keep it a lookup.
   */
  perDeployment(model: string): number | undefined;
}
