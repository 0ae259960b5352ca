/// How fast this machine trains a candidate network: what the planner weighs widths by. `EngineThroughputProbe`
/// times real steps; tests give fixed numbers.
public protocol ThroughputProbe {
    /// Seconds one training step (forward, loss, backward, optimizer) of `candidate` takes here.
    func secondsPerStep(_ candidate: TrainingCandidate) throws -> Double
}
